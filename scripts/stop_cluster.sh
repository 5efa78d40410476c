#!/usr/bin/env bash
# Stops what scripts/start_cluster.sh started: coordinators first (SIGTERM,
# so an active hands over and revokes its lease), etcd last.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${BATON_CLUSTER_DIR:-$repo/baton-cluster}

stop() { # pid file
	local f=$1 name pid
	name=$(basename "$f" .pid)
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "$name (pid $pid) did not stop in 10 s; sending SIGKILL"
			kill -KILL "$pid"
		fi
		echo "stopped $name (pid $pid)"
	fi
	rm -f "$f"
}

shopt -s nullglob
for f in "$dir"/*.pid; do
	[[ $(basename "$f") == etcd.pid ]] || stop "$f"
done
[[ -f "$dir/etcd.pid" ]] && stop "$dir/etcd.pid"
echo "logs are kept in $dir"
