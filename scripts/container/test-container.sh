#!/usr/bin/env bash
# `npm run test:container`: builds the real Dockerfile and runs the image against the test S3 server.
#  1-3. builds source-s3:dev (scripts/container/build-image.sh: podman, a local base image, the build);
#  4. runs test/container (spec, check and read in the container, with a mounted config);
#  5. runs the acceptance suites (npm run acceptance) against the image.
# With Docker instead of podman: SOURCE_S3_CONTAINER_ENGINE=docker (see build-image.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."

engine=${SOURCE_S3_CONTAINER_ENGINE:-podman}
image=${SOURCE_S3_IMAGE:-source-s3:dev}
bash scripts/container/build-image.sh
# crun cannot set rlimits on these machines: runc, and no default ulimits (see DESIGN.md).
[ "$engine" != podman ] || export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/scripts/container/containers.conf}

npm run build >/dev/null
SOURCE_S3_IMAGE=$image SOURCE_S3_CONTAINER_ENGINE=$engine npx vitest run --config test/container/vitest.config.ts
SOURCE_S3_ACCEPTANCE_IMAGE=$image SOURCE_S3_CONTAINER_ENGINE=$engine npx vitest run --config acceptance/vitest.config.ts
