#!/usr/bin/env bash
# End-to-end check of deploy/compose: builds baton:dev, starts the compose
# project under a name of its own, creates a collection, SIGKILLs the
# active rootcoord's container and checks that the standby takes over with
# the collection and the timestamp order intact. The project (containers,
# network, volume) is removed on every exit.
#
#   deploy/compose/test.sh
#   SKIP_BUILD=1 deploy/compose/test.sh     # reuse an existing $IMAGE
#
# Bounds (seconds): START_TIMEOUT=90 for an ACTIVE of every role,
# TAKEOVER_TIMEOUT=45 for the standby to become ACTIVE after the kill. With
# the default SESSION_TTL of 10s a takeover takes about 10s: the killed
# container's name stops resolving, so the standby cannot see at once that
# it is dead and waits for its lease to expire.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export IMAGE=${IMAGE:-baton:dev}
start_timeout=${START_TIMEOUT:-90}
takeover_timeout=${TAKEOVER_TIMEOUT:-45}
project=baton-test-$(date +%s)-$$
collection=failover_books

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.1fs", b - a }'; }
say() { printf '[%6s] %s\n' "$(elapsed "$t_start")" "$*"; }
fail() {
	echo "test.sh: FAIL: $*" >&2
	exit 1
}

if docker compose version >/dev/null 2>&1; then
	compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
	compose_cmd=(docker-compose)
else
	fail "neither 'docker compose' nor 'docker-compose' is installed"
fi
compose() { "${compose_cmd[@]}" -p "$project" -f "$here/docker-compose.yml" "$@"; }

# cleanup shows what went wrong, then always removes the project.
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ $rc -ne 0 ]]; then
		echo "--- containers of $project" >&2
		compose ps >&2 2>/dev/null || true
		echo "--- last log lines" >&2
		compose logs --no-color --tail=25 >&2 2>/dev/null || true
	fi
	local t0
	t0=$(now)
	compose down -v --remove-orphans >/dev/null 2>&1 || echo "test.sh: 'down -v' of $project failed" >&2
	echo "removed project $project in $(elapsed "$t0")"
	exit "$rc"
}

# ctl runs `baton ctl` inside the etcd container: it is in the project's
# network and, unlike `compose run`, starts no new container per call.
ctl() { docker exec "$etcd_id" /baton ctl "$@"; }

# active_rootcoord prints the advertised address of the ACTIVE rootcoord,
# or nothing.
active_rootcoord() {
	ctl status -o json --timeout 2s 2>/dev/null | awk -F'"' '
		/"role":/    { role = $4 }
		/"address":/ { addr = $4 }
		/"state": "ACTIVE"/ && role == "rootcoord" { print addr }'
}

# all_up succeeds when every role has an ACTIVE and both rootcoords are
# registered.
all_up() {
	local js
	js=$(ctl status -o json --timeout 2s 2>/dev/null) || return 1
	[[ $(grep -c '"state": "ACTIVE"' <<<"$js") -eq 3 ]] &&
		[[ $(grep -c '"address": "rootcoord-' <<<"$js") -eq 2 ]]
}

# tso prints one new timestamp.
tso() { ctl tso -o json --timeout 20s | awk -F'[:,]' '/"timestamp"/ { gsub(/ /, "", $2); print $2 }'; }

# log_time_of prints, as seconds since the epoch, the time of the last log
# line of service $1 that contains $2.
log_time_of() {
	local line
	line=$(compose logs --no-color "$1" 2>/dev/null | grep -F "$2" | tail -n 1)
	[[ $line =~ time=([0-9T:.-]+)Z ]] || return 1
	date -u -d "${BASH_REMATCH[1]/T/ }" +%s.%N
}

t_start=$(now)
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Image.
if [[ -z "${SKIP_BUILD:-}" ]]; then
	t0=$(now)
	"$repo/deploy/docker/build.sh" >/dev/null
	t_build=$(elapsed "$t0")
	say "built $IMAGE in $t_build"
else
	docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "SKIP_BUILD is set but there is no image $IMAGE"
	t_build=skipped
fi

# 2. Up, and wait for an ACTIVE of every role.
t0=$(now)
timeout 180 "${compose_cmd[@]}" -p "$project" -f "$here/docker-compose.yml" up -d \
	>/dev/null 2>&1 || fail "'up -d' of $project failed or took over 180s"
etcd_id=$(compose ps -q etcd)
[[ -n "$etcd_id" ]] || fail "no etcd container in $project"
deadline=$((SECONDS + start_timeout))
until all_up; do
	((SECONDS < deadline)) || fail "no ACTIVE rootcoord, datacoord and querycoord with two" \
		"rootcoords registered within ${start_timeout}s"
	sleep 0.2
done
t_up=$(elapsed "$t0")
say "project $project up, every role ACTIVE, in $t_up"
ctl status --timeout 5s

# 3. A collection and a timestamp through the active.
compose run --rm ctl --timeout 20s collection create "$collection" --dim 8 2>/dev/null ||
	fail "'ctl collection create $collection' failed"
ts_before=$(tso) || fail "'ctl tso' failed before the kill"
[[ -n "$ts_before" ]] || fail "'ctl tso' printed no timestamp"
say "created collection $collection; timestamp $ts_before"

# 4. SIGKILL the active rootcoord's container.
active=$(active_rootcoord)
victim=${active%%:*}
case $victim in
rootcoord-1) heir=rootcoord-2 ;;
rootcoord-2) heir=rootcoord-1 ;;
*) fail "unexpected active rootcoord address ${active:-(none)}" ;;
esac
t_kill=$(now)
compose kill -s KILL "$victim" >/dev/null 2>&1 || fail "'kill -s KILL $victim' failed"
say "killed $victim (SIGKILL); waiting up to ${takeover_timeout}s for $heir"

# 5. Bounded wait for the other rootcoord.
deadline=$((SECONDS + takeover_timeout))
until [[ $(active_rootcoord) == "$heir:53100" ]]; do
	((SECONDS < deadline)) || fail "$heir did not become ACTIVE within ${takeover_timeout}s" \
		"after $victim was killed"
	sleep 0.2
done
t_seen=$(elapsed "$t_kill")
t_switch=$(log_time_of "$heir" "switched from STANDBY to ACTIVE") || t_switch=
t_logged=unknown
[[ -n "$t_switch" ]] && t_logged=$(elapsed "$t_kill" "$t_switch")
say "$heir is ACTIVE: seen by ctl ${t_seen} after the kill, its log says ${t_logged}"

# 6. The new active has the collection, and time did not go back.
list=$(ctl collection list --timeout 20s) || fail "'ctl collection list' failed after the takeover"
grep -qw "$collection" <<<"$list" || fail "collection $collection is missing after the takeover:
$list"
ts_after=$(tso) || fail "'ctl tso' failed after the takeover"
((ts_after > ts_before)) || fail "timestamp went back: $ts_after after $ts_before"
say "collection $collection still listed; timestamp $ts_after > $ts_before"
ctl status --timeout 5s

cat <<EOF
PASS: standby took over after SIGKILL
  build            $t_build
  up to ACTIVE     $t_up
  takeover (ctl)   $t_seen
  takeover (log)   $t_logged
  total            $(elapsed "$t_start") (before down -v)
EOF
