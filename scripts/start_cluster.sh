#!/usr/bin/env bash
# Builds baton and starts a local cluster: one embedded etcd and one
# coordinator of each role, all with active-standby enabled.
#
#   scripts/start_cluster.sh            # start
#   scripts/stop_cluster.sh             # stop
#
# Logs and pid files go to $BATON_CLUSTER_DIR (default ./baton-cluster).
# Ports: etcd 2379/2380 ($BATON_CLUSTER_ETCD_PORT and $BATON_CLUSTER_ETCD_PEER_PORT
# change them), rootcoord 53100, datacoord 13333, querycoord 19531
# ($BATON_ROOTCOORD_PORT, $BATON_DATACOORD_PORT, $BATON_QUERYCOORD_PORT, read by
# baton itself).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${BATON_CLUSTER_DIR:-$repo/baton-cluster}
etcd_port=${BATON_CLUSTER_ETCD_PORT:-2379}
peer_port=${BATON_CLUSTER_ETCD_PEER_PORT:-2380}
# Every BATON_ variable is read as a config key by baton: keep these to the script.
unset BATON_CLUSTER_DIR BATON_CLUSTER_ETCD_PORT BATON_CLUSTER_ETCD_PEER_PORT
export ETCD_ENDPOINTS=127.0.0.1:$etcd_port
unset BATON_ETCD_ENDPOINTS
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

# in_use reports whether something accepts connections on a loopback port.
in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! running etcd; then
	for port in "$etcd_port" "$peer_port"; do
		if in_use "$port"; then
			echo "port $port is already in use (another etcd or cluster?); stop it, or choose" \
				"other ports with BATON_CLUSTER_ETCD_PORT and BATON_CLUSTER_ETCD_PEER_PORT" >&2
			exit 1
		fi
	done
fi
start etcd "$bin" run etcd --data-dir "$dir/etcd-data" \
	--listen-client-urls "http://127.0.0.1:$etcd_port" \
	--listen-peer-urls "http://127.0.0.1:$peer_port"

# Wait until etcd answers, at most 30 s, and make sure it is ours.
for _ in $(seq 1 60); do
	running etcd || break
	if "$bin" ctl status --timeout 1s >/dev/null 2>&1; then break; fi
	sleep 0.5
done
if ! running etcd || ! "$bin" ctl status --timeout 2s >/dev/null; then
	echo "etcd did not come up; see $dir/etcd.log:" >&2
	tail -n 3 "$dir/etcd.log" >&2
	exit 1
fi

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
failed=0
for role in rootcoord datacoord querycoord; do
	if ! running "$role"; then
		echo "$role exited; see $dir/$role.log:" >&2
		tail -n 3 "$dir/$role.log" >&2
		failed=1
	fi
done
"$bin" ctl status
[[ $failed == 0 ]] || exit 1
cat <<MSG

Add a standby rootcoord on another port (its pid file lets stop_cluster.sh stop it):
  ETCD_ENDPOINTS=$ETCD_ENDPOINTS ROOT_COORD_ENABLE_ACTIVE_STANDBY=true $bin run rootcoord --port 53101 >>$dir/rootcoord-2.log 2>&1 & echo \$! >$dir/rootcoord-2.pid
Stop everything:
  $repo/scripts/stop_cluster.sh
MSG
