#!/usr/bin/env bash
# Builds source-s3:dev (or $SOURCE_S3_IMAGE) from the Dockerfile. With podman (the default here):
#  1. installs podman, runc and debootstrap where missing (Debian, as root);
#  2. makes a local base image standing in for node:22-bookworm-slim (no registry is reachable here);
#  3. builds the image with that base.
# With Docker instead: SOURCE_S3_CONTAINER_ENGINE=docker skips steps 1-2; set
# SOURCE_S3_BASE_IMAGE=node:22-bookworm-slim to build FROM the real base.
# Used by `npm run test:container` and `npm run cat`.
set -euo pipefail
cd "$(dirname "$0")/../.."

engine=${SOURCE_S3_CONTAINER_ENGINE:-podman}
image=${SOURCE_S3_IMAGE:-source-s3:dev}
base=${SOURCE_S3_BASE_IMAGE:-localhost/source-s3-base:node${NODE_VERSION:-22.23.3}-bookworm-slim}
build_args=(--build-arg "BASE_IMAGE=$base")
if [ "$engine" = podman ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "building with podman runs as root here: debootstrap and rootful podman need it" >&2
    exit 1
  fi
  missing=()
  for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc debootstrap >/dev/null
  fi
  # crun cannot set rlimits on these machines: runc, and no default ulimits (see DESIGN.md).
  export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/container/containers.conf}
  bash scripts/container/make-base-image.sh "$base"
  # The stand-in base holds this machine's proxy CA (make-base-image.sh); npm in the build stage needs it.
  if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
    build_args+=(--build-arg NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/host-extra-ca.crt)
  fi
fi

echo "building $image (base $base)" >&2
start=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
$engine build --network host "${build_args[@]}" -t "$image" . >"$log" 2>&1 || { tail -40 "$log" >&2; exit 1; }
echo "built $image in $(( $(date +%s) - start )) s; $($engine image inspect "$image" --format '{{.Size}}') bytes" >&2
