#!/usr/bin/env bash
# Builds baton and starts a local cluster: one embedded etcd and one
# coordinator of each role, all with active-standby enabled.
#
#   scripts/start_cluster.sh            # start
#   scripts/stop_cluster.sh             # stop
#
# Logs and pid files go to $BATON_CLUSTER_DIR (default ./baton-cluster).
# Ports: etcd 2379/2380, rootcoord 53100, datacoord 13333, querycoord 19531.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${BATON_CLUSTER_DIR:-$repo/baton-cluster}
# Every BATON_ variable is read as a config key by baton: keep this one to the script.
unset BATON_CLUSTER_DIR
bin=$repo/bin/baton
mkdir -p "$dir" "$repo/bin"

echo "building $bin"
(cd "$repo" && go build -o "$bin" ./cmd/baton)

running() { [[ -f "$dir/$1.pid" ]] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

start() { # name, then the command line
	local name=$1
	shift
	if running "$name"; then
		echo "$name is already running (pid $(cat "$dir/$name.pid"))"
		return
	fi
	"$@" >>"$dir/$name.log" 2>&1 &
	echo $! >"$dir/$name.pid"
	echo "started $name (pid $!, log $dir/$name.log)"
}

start etcd "$bin" run etcd --data-dir "$dir/etcd-data"

# Wait until etcd answers, at most 30 s.
for _ in $(seq 1 60); do
	if "$bin" ctl status --timeout 1s >/dev/null 2>&1; then break; fi
	sleep 0.5
done
"$bin" ctl status --timeout 2s >/dev/null || {
	echo "etcd did not come up; see $dir/etcd.log" >&2
	exit 1
}

export ROOT_COORD_ENABLE_ACTIVE_STANDBY=true
export DATA_COORD_ENABLE_ACTIVE_STANDBY=true
export QUERY_COORD_ENABLE_ACTIVE_STANDBY=true
start rootcoord "$bin" run rootcoord
start datacoord "$bin" run datacoord
start querycoord "$bin" run querycoord

# Wait until every role has an active, at most 30 s.
for _ in $(seq 1 60); do
	n=$("$bin" ctl status -o json --timeout 2s 2>/dev/null | grep -c '"state": "ACTIVE"' || true)
	[[ "$n" -ge 3 ]] && break
	sleep 0.5
done
"$bin" ctl status
cat <<MSG

Add a standby rootcoord on another port:
  ROOT_COORD_ENABLE_ACTIVE_STANDBY=true $bin run rootcoord --port 53101 >>$dir/rootcoord-2.log 2>&1 &
Stop everything:
  $repo/scripts/stop_cluster.sh
MSG
