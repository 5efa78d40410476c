#!/usr/bin/env bash
# Builds a static baton for linux/amd64 on this machine and the image
# baton:dev FROM scratch around it: nothing is pulled. Safe to run again.
# Progress goes to stderr; the only line on stdout is the image ID.
#
#   deploy/docker/build.sh                  # image baton:dev
#   IMAGE=baton:test deploy/docker/build.sh
#   VERSION=1.2.3 deploy/docker/build.sh    # stamps `baton --version`
#
# Needs Go and a Docker engine. The build context is a temporary folder,
# removed on exit: nothing is written into the work tree.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=${IMAGE:-baton:dev}
version=${VERSION:-}

log() { echo "build.sh: $*" >&2; }
fail() {
	log "FAIL: $*"
	exit 1
}

ctx=$(mktemp -d "${TMPDIR:-/tmp}/baton-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

# 1. A static binary: no cgo, so it runs on an empty root file system.
ldflags="-s -w"
if [[ -n "$version" ]]; then
	ldflags+=" -X github.com/batonhq/baton/internal/version.Version=$version"
fi
log "compiling ./cmd/baton for linux/amd64 (CGO_ENABLED=0)"
(cd "$repo" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
	go build -trimpath -ldflags "$ldflags" -o "$ctx/baton" ./cmd/baton)

# 2. Check it is static: built without cgo, and no ELF interpreter (a
#    dynamic binary names ld-linux.so there, which scratch does not have).
go version -m "$ctx/baton" | grep -q 'CGO_ENABLED=0' ||
	fail "$ctx/baton was not built with CGO_ENABLED=0"
if command -v readelf >/dev/null; then
	if readelf -l "$ctx/baton" | grep -q 'INTERP'; then
		fail "$ctx/baton is dynamically linked; it would not run FROM scratch"
	fi
fi

# 3. The rest of the context: the Dockerfile, the shipped config and the
#    empty folder that becomes /data.
cp "$here/Dockerfile" "$ctx/Dockerfile"
cp "$repo/configs/baton.yaml" "$ctx/baton.yaml"
mkdir -m 0755 "$ctx/data"

# 4. The image. --quiet prints its ID only.
log "building image $image"
build_args=()
[[ -n "$version" ]] && build_args=(--build-arg "VERSION=$version")
docker build --quiet "${build_args[@]}" -t "$image" "$ctx" >/dev/null ||
	fail "docker build of $image failed"

# 5. It must start as it will run: read-only root, no network, not root.
got=$(docker run --rm --read-only --network none "$image" --version) ||
	fail "image $image was built but 'baton --version' fails in it"
log "$image: $got, $(docker image inspect -f '{{.Size}}' "$image" |
	awk '{ printf "%.1f MB", $1 / 1e6 }')"
docker image inspect -f '{{.Id}}' "$image"
