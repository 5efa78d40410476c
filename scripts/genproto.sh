#!/usr/bin/env bash
# genproto.sh regenerates the Go code for Baton's gRPC API from
# api/baton/v1/baton.proto into api/baton/v1/ (baton.pb.go, baton_grpc.pb.go).
#
# It installs protoc-gen-go and protoc-gen-go-grpc at pinned versions into
# .cache/genproto/bin under the repository, so regeneration does not depend on
# whatever plugins happen to be on PATH. protoc itself must be installed.
#
# Usage: scripts/genproto.sh
set -euo pipefail

# PROTOC_GEN_GO_VERSION must match google.golang.org/protobuf in go.mod: the
# generated code checks the runtime version at init.
readonly PROTOC_GEN_GO_VERSION="v1.36.12"
# PROTOC_GEN_GO_GRPC_VERSION is a released protoc-gen-go-grpc; its output needs
# google.golang.org/grpc v1.64 or newer.
readonly PROTOC_GEN_GO_GRPC_VERSION="v1.6.2"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly repo_root
readonly gobin="${repo_root}/.cache/genproto/bin"
readonly proto_dir="api/baton/v1"

# require_protoc fails with install instructions when protoc is missing.
require_protoc() {
  if ! command -v protoc >/dev/null 2>&1; then
    echo "genproto: protoc not found on PATH." >&2
    echo "  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y protobuf-compiler" >&2
    echo "  macOS:         brew install protobuf" >&2
    exit 1
  fi
}

# install_plugins installs both plugins at their pinned versions into $gobin.
install_plugins() {
  mkdir -p "${gobin}"
  GOBIN="${gobin}" go install \
    "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
  GOBIN="${gobin}" go install \
    "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"
}

# generate runs protoc with the pinned plugins first on PATH.
generate() {
  cd "${repo_root}"
  PATH="${gobin}:${PATH}" protoc \
    --proto_path=. \
    --go_out=. --go_opt=paths=source_relative \
    --go-grpc_out=. --go-grpc_opt=paths=source_relative \
    "${proto_dir}/baton.proto"
  echo "genproto: wrote ${proto_dir}/baton.pb.go and ${proto_dir}/baton_grpc.pb.go" \
    "($(protoc --version))"
}

require_protoc
install_plugins
generate
