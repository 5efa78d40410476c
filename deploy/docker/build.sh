#!/usr/bin/env bash
# Builds a statically linked baton on this machine and the image baton:dev
# from it (FROM scratch: nothing is pulled). Safe to run again.
#
#   deploy/docker/build.sh                 # image baton:dev
#   IMAGE=baton:test deploy/docker/build.sh
#   VERSION=1.2.3 deploy/docker/build.sh   # stamps `baton --version`
#
# Needs Go and a Docker engine. The binary (deploy/docker/baton) and
# deploy/docker/rootfs/ are build outputs and are ignored by git.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=${IMAGE:-baton:dev}

# 1. A static binary: no cgo, so it runs on an empty root filesystem.
ldflags="-s -w"
if [[ -n "${VERSION:-}" ]]; then
	ldflags+=" -X github.com/batonhq/baton/internal/version.Version=$VERSION"
fi
echo "building $here/baton (static)"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$here/baton" ./cmd/baton)
if command -v ldd >/dev/null && ldd "$here/baton" >/dev/null 2>&1; then
	echo "build.sh: $here/baton is dynamically linked; it would not run FROM scratch" >&2
	exit 1
fi

# 2. The empty folders the image needs (scratch has none).
mkdir -p "$here/rootfs/tmp" "$here/rootfs/data"
chmod 1777 "$here/rootfs/tmp"
chmod 0755 "$here/rootfs/data"

# 3. The image.
echo "building image $image"
docker build --quiet -t "$image" "$here" >/dev/null
docker run --rm "$image" --version >/dev/null || {
	echo "build.sh: image $image was built but 'baton --version' fails in it" >&2
	exit 1
}
echo "built $image ($(docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1/1e6}'))"
