#!/usr/bin/env bash
# End-to-end check of deploy/compose, with real containers and real signals.
#
# Builds baton:dev, starts compose.yaml under a project name of its own,
# waits for an ACTIVE and a STANDBY of every role, creates a collection and
# takes a timestamp, then takes the active rootcoord away three ways and
# measures how long until another rootcoord is ACTIVE and serves:
#
#   container  `docker kill -s KILL` of the active's container. It stays
#              down (a manual stop) and its IP and name vanish, so the
#              standby's fast detection (which needs a "connection refused"
#              from the active's host) usually cannot fire: the lease TTL
#              is the bound.
#   process    SIGKILL to the active's baton process, from this host (the
#              docker daemon must be local). baton is the container's only
#              process, so the container dies too, but it is not stopped by
#              hand: Docker restarts it at once (restart: unless-stopped) on
#              the same name, and the new process there answers with another
#              server ID. Fast detection evicts the dead active: well under
#              the TTL.
#   graceful   `docker compose restart` of the active's service: SIGTERM,
#              the active drains and resigns, its standby takes over at once.
#
# After each it checks that the collection is still there, that the new
# timestamp is larger than every earlier one and that both rootcoords end up
# registered again. Exits non-zero on any failure; the project (containers,
# network, volume) is removed on every exit.
#
#   deploy/compose/test.sh
#   SKIP_BUILD=1 deploy/compose/test.sh     # reuse an existing $IMAGE
#
# Settings: IMAGE (baton:dev), SESSION_TTL (10s; whole seconds),
# START_TIMEOUT (120 s for every role to have an ACTIVE and a STANDBY),
# TAKEOVER_TIMEOUT (3 x TTL + 15 s, how long to wait for any takeover),
# LEASE_TIMEOUT (TTL + 5 s: the container takeover must not take longer than
# the lease allows), FAST_TIMEOUT (TTL: the process and graceful takeovers
# must beat the lease). Needs docker, `docker compose` or docker-compose
# 1.28+, jq and awk.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export IMAGE=${IMAGE:-baton:dev}
export SESSION_TTL=${SESSION_TTL:-10s}
ttl=${SESSION_TTL%s}
if ! [[ $ttl =~ ^[0-9]+$ ]] || ((ttl == 0)); then
	echo "test.sh: FAIL: SESSION_TTL=$SESSION_TTL: give whole seconds, such as 10s" >&2
	exit 1
fi
start_timeout=${START_TIMEOUT:-120}
takeover_timeout=${TAKEOVER_TIMEOUT:-$((3 * ttl + 15))}
lease_timeout=${LEASE_TIMEOUT:-$((ttl + 5))}
fast_timeout=${FAST_TIMEOUT:-$ttl}
project=baton-test-$(date +%s)-$$
collection=failover_books

now() { date +%s.%N; }
# secs A [B]: B - A (B defaults to now), in seconds with two decimals.
secs() { awk -v a="$1" -v b="${2:-$(now)}" 'BEGIN { printf "%.2f", b - a }'; }
# lt A B: whether A < B, for decimal numbers.
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
say() { printf '[%7ss] %s\n' "$(secs "$t_start")" "$*"; }
fail() {
	echo "test.sh: FAIL: $*" >&2
	exit 1
}

for tool in docker jq awk; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done
if docker compose version >/dev/null 2>&1; then
	compose_cmd=(docker compose)
elif command -v docker-compose >/dev/null; then
	compose_cmd=(docker-compose)
else
	fail "neither 'docker compose' nor 'docker-compose' is installed"
fi
compose() { "${compose_cmd[@]}" -p "$project" -f "$here/compose.yaml" "$@"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-compose-test.XXXXXX")
bg_pid=

# cleanup shows what went wrong, then always removes the project.
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -n "$bg_pid" ]] && kill "$bg_pid" 2>/dev/null
	if ((rc != 0)); then
		echo "--- containers of $project" >&2
		compose ps -a >&2 2>/dev/null || true
		echo "--- last log lines" >&2
		compose logs --no-color --tail=20 >&2 2>/dev/null || true
	fi
	local t0
	t0=$(now)
	if compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1; then
		echo "removed project $project (containers, network, volume) in $(secs "$t0")s"
	else
		echo "test.sh: 'down -v' of $project failed; remove it by hand" >&2
		rc=1
	fi
	rm -rf "$tmp"
	exit "$rc"
}

# ctl runs `baton ctl` in the etcd container: it is on the project's network
# (the coordinators' names resolve there) and, unlike `compose run`, no new
# container is made per call.
ctl() { docker exec "$etcd_cid" /baton ctl "$@"; }
status_json() { ctl status -o json --timeout 3s 2>/dev/null; }

# count JSON ROLE STATE: how many coordinators of ROLE are in STATE.
count() {
	jq --arg r "$2" --arg s "$3" '[.[] | select(.role == $r and .state == $s)] | length' <<<"$1"
}

# active_rootcoord prints "serverID address" of the ACTIVE rootcoord, or
# nothing.
active_rootcoord() {
	status_json | jq -r '.[] | select(.role == "rootcoord" and .state == "ACTIVE") |
		"\(.serverID) \(.address)"'
}

# settled succeeds when every role has one ACTIVE and one STANDBY.
settled() {
	local js role
	js=$(status_json) || return 1
	for role in rootcoord datacoord querycoord; do
		[[ $(count "$js" "$role" ACTIVE) == 1 && $(count "$js" "$role" STANDBY) == 1 ]] ||
			return 1
	done
}

# wait_settled SECONDS WHAT: waits for settled, or fails.
wait_settled() {
	local deadline=$((SECONDS + $1))
	until settled; do
		((SECONDS < deadline)) || fail "$2: no ACTIVE and STANDBY of every role within $1s"
		sleep 0.3
	done
}

# tso prints one new timestamp; it retries across a failover for $1 seconds.
# Not through jq: jq 1.6 reads numbers as doubles, which cannot tell apart
# timestamps less than 64 apart (2^58 is about 4.7e17).
tso() {
	ctl --timeout "${1}s" tso -o json | sed -n 's/^ *"timestamp": *\([0-9][0-9]*\).*/\1/p'
}

# log_time CONTAINER SERVER_ID MESSAGE: seconds since the epoch of the last
# line of CONTAINER's log from SERVER_ID with MESSAGE, or nothing.
log_time() {
	local line
	line=$(docker logs "$1" 2>&1 | grep -F "msg=\"$3\"" | grep -F "serverID=$2 " | tail -n 1)
	[[ $line =~ time=([0-9T:.-]+)Z ]] || return 0
	date -u -d "${BASH_REMATCH[1]/T/ }" +%s.%N
}

# logs_of_rootcoords prints every rootcoord container's log.
logs_of_rootcoords() {
	local c
	for c in $(compose ps -q rootcoord-1 rootcoord-2); do docker logs "$c" 2>&1; done
}

# check_data WHEN: the collection is listed and a new timestamp is larger
# than the last one.
last_ts=0
check_data() {
	local list ts
	list=$(ctl --timeout 20s collection list) || fail "$1: 'ctl collection list' failed"
	grep -qw "$collection" <<<"$list" || fail "$1: collection $collection is missing:
$list"
	ts=$(tso 20) || fail "$1: 'ctl tso' failed"
	[[ $ts =~ ^[0-9]+$ ]] || fail "$1: 'ctl tso' printed no timestamp: $ts"
	((ts > last_ts)) || fail "$1: timestamp went back: $ts after $last_ts"
	last_ts=$ts
}

# takeover NAME ACTION...: runs ACTION against the ACTIVE rootcoord, then
# measures until another server is ACTIVE and serves. Sets the figures
# seen_NAME (ctl status shows the new ACTIVE), served_NAME (a `ctl tso`
# started right after ACTION returned), logged_NAME (the new active's own
# "switched from STANDBY to ACTIVE" or "became ACTIVE" line) and how_NAME.
takeover() {
	local name=$1 action=$2 bound=$3
	local old old_id old_addr old_svc old_cid
	old=$(active_rootcoord)
	read -r old_id old_addr <<<"$old"
	old_svc=${old_addr%%:*}
	[[ $old_svc == rootcoord-1 || $old_svc == rootcoord-2 ]] ||
		fail "$name: unexpected ACTIVE rootcoord '${old:-none}'"
	old_cid=$(compose ps -q "$old_svc")
	say "$name: taking rootcoord $old_id ($old_svc) away: $action"

	# 1. The action, and a client call that waits through the failover.
	local t0 pid
	case $action in
	container)
		t0=$(now)
		docker kill -s KILL "$old_cid" >/dev/null || fail "$name: docker kill failed"
		;;
	process)
		pid=$(docker inspect -f '{{.State.Pid}}' "$old_cid")
		[[ $(cat "/proc/$pid/comm" 2>/dev/null) == baton ]] ||
			fail "$name: pid $pid of $old_svc is not visible here as 'baton'" \
				"(is the docker daemon on another host?)"
		t0=$(now)
		kill -KILL "$pid" || fail "$name: kill -KILL $pid failed"
		;;
	graceful)
		t0=$(now)
		compose restart --timeout 30 "$old_svc" >/dev/null 2>&1 &
		bg_pid=$!
		;;
	esac
	(tso "$takeover_timeout" >"$tmp/tso.$name" 2>"$tmp/tso.$name.err"; now >"$tmp/tso.$name.t") &
	local tso_pid=$!

	# 2. Bounded wait for another server ID to be ACTIVE.
	local deadline=$((SECONDS + takeover_timeout)) cur new_id new_addr
	while :; do
		cur=$(active_rootcoord || true)
		read -r new_id new_addr <<<"$cur"
		[[ -n "$new_id" && $new_id != "$old_id" ]] && break
		((SECONDS < deadline)) ||
			fail "$name: no other rootcoord ACTIVE within ${takeover_timeout}s"
		sleep 0.2
	done
	local t_seen
	t_seen=$(secs "$t0")
	wait "$tso_pid" || fail "$name: 'ctl tso' across the takeover failed:
$(cat "$tmp/tso.$name.err")"
	local ts
	ts=$(cat "$tmp/tso.$name")
	[[ $ts =~ ^[0-9]+$ ]] || fail "$name: 'ctl tso' printed no timestamp: $ts"
	((ts > last_ts)) || fail "$name: timestamp went back: $ts after $last_ts"
	last_ts=$ts
	if [[ -n "$bg_pid" ]]; then
		wait "$bg_pid" || fail "$name: 'compose restart $old_svc' failed"
		bg_pid=
	fi

	# 3. The figures, from the new active's own log where it says so.
	local new_cid t_log
	new_cid=$(compose ps -q "${new_addr%%:*}")
	t_log=$(log_time "$new_cid" "$new_id" "switched from STANDBY to ACTIVE")
	[[ -n "$t_log" ]] || t_log=$(log_time "$new_cid" "$new_id" "became ACTIVE")
	[[ -n "$t_log" ]] || fail "$name: rootcoord $new_id logged no activation"
	printf -v "seen_$name" '%s' "$t_seen"
	printf -v "served_$name" '%s' "$(secs "$t0" "$(cat "$tmp/tso.$name.t")")"
	printf -v "logged_$name" '%s' "$(secs "$t0" "$t_log")"

	# 4. How it was noticed, and the bound for this kind of takeover.
	local logs how=lease
	logs=$(logs_of_rootcoords)
	if grep -F 'msg="evicted a dead active"' <<<"$logs" | grep -qF "activeServerID=$old_id "; then
		how="fast detection"
	elif grep -F 'msg=resigned' <<<"$logs" | grep -qF "serverID=$old_id "; then
		how="resigned"
	fi
	printf -v "how_$name" '%s' "$how"
	local logged_var="logged_$name"
	say "$name: rootcoord $new_id (${new_addr%%:*}) ACTIVE ${!logged_var}s after, by its log;" \
		"seen by ctl status after ${t_seen}s; noticed by: $how"
	case $action in
	process) [[ $how == "fast detection" ]] ||
		fail "$name: the dead active was not evicted by fast detection (noticed by: $how)" ;;
	graceful) [[ $how == resigned ]] ||
		fail "$name: rootcoord $old_id did not resign (noticed by: $how)" ;;
	esac
	if [[ -n "$bound" ]] && ! lt "${!logged_var}" "$bound"; then
		fail "$name: took ${!logged_var}s, not under ${bound}s"
	fi
	check_data "after $name"
}

t_start=$(now)
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Image.
if [[ -z "${SKIP_BUILD:-}" ]]; then
	t0=$(now)
	image_id=$("$repo/deploy/docker/build.sh" 2>"$tmp/build.log") || {
		cat "$tmp/build.log" >&2
		fail "deploy/docker/build.sh failed"
	}
	t_build="$(secs "$t0")s"
	say "built $IMAGE ${image_id:7:12} in $t_build"
else
	docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "SKIP_BUILD is set but there is no $IMAGE"
	t_build=skipped
fi

# 2. Up, and wait for an ACTIVE and a STANDBY of every role.
t0=$(now)
timeout 300 "${compose_cmd[@]}" -p "$project" -f "$here/compose.yaml" up -d \
	>"$tmp/up.log" 2>&1 || {
	cat "$tmp/up.log" >&2
	fail "'up -d' of $project failed or took over 300s"
}
etcd_cid=$(compose ps -q etcd)
[[ -n "$etcd_cid" ]] || fail "no etcd container in $project"
wait_settled "$start_timeout" "start"
t_up="$(secs "$t0")s"
say "project $project up in $t_up: every role ACTIVE + STANDBY"
ctl status --timeout 5s

# 3. The containers are what compose.yaml promises: not root, read-only
#    root, nothing published on the host, on an internal network only.
net=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$etcd_cid")
net=${net% }
[[ $(docker network inspect -f '{{.Internal}}' "$net") == true ]] ||
	fail "network $net is not internal"
for c in $(compose ps -q); do
	name=$(docker inspect -f '{{.Name}}' "$c")
	[[ $(docker inspect -f '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}' "$c") == "65532:65532 true" ]] ||
		fail "$name does not run as 65532:65532 with a read-only root"
	published=$(docker inspect -f '{{json .NetworkSettings.Ports}}' "$c" |
		jq -r '[.[]? // [] | .[] | "\(.HostIp):\(.HostPort)"] | join(" ")')
	[[ -z "$published" ]] || fail "$name is published on the host: $published"
	[[ $(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$c") == "$net " ]] ||
		fail "$name is on another network than $net"
done
say "every container runs as 65532 on a read-only root, on internal network $net only;" \
	"nothing is published"

# 4. A collection (through the one-off ctl service) and a timestamp.
compose run --rm ctl --timeout 20s collection create "$collection" --dim 8 \
	>"$tmp/create.log" 2>&1 || {
	cat "$tmp/create.log" >&2
	fail "'compose run --rm ctl collection create' failed"
}
check_data "before the takeovers"
say "created collection $collection; timestamp $last_ts"

# 5. The three takeovers. After each, the old active comes back as STANDBY.
takeover container container "$lease_timeout"
# The killed container stays down (a manual stop); start brings it back.
compose start rootcoord-1 rootcoord-2 >/dev/null 2>&1 || fail "'compose start' of the rootcoords failed"
wait_settled "$start_timeout" "after container"
takeover process process "$fast_timeout"
wait_settled "$start_timeout" "after process"
takeover graceful graceful "$fast_timeout"
wait_settled "$start_timeout" "after graceful"
ctl status --timeout 5s

row() { printf '  %-18s %-10s %-10s %-10s %s\n' "$@"; }
echo "PASS: $project (SESSION_TTL=$SESSION_TTL)"
echo "  build $t_build; up with every role paired in $t_up"
row "takeover after" "new log" "ctl saw" "tso served" "noticed by"
row "container SIGKILL" "${logged_container}s" "${seen_container}s" "${served_container}s" "$how_container"
row "process SIGKILL" "${logged_process}s" "${seen_process}s" "${served_process}s" "$how_process"
row "compose restart" "${logged_graceful}s" "${seen_graceful}s" "${served_graceful}s" "$how_graceful"
echo "  total $(secs "$t_start")s before down -v"
