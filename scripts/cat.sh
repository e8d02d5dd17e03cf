#!/usr/bin/env bash
# `npm run cat`: Airbyte's own acceptance suite (CAT 0.11.5, offline) against the image built from
# this checkout, with this project's acceptance-test-config.yml:
#  1. builds source-s3:dev (scripts/container/build-image.sh);
#  2. serves integration_tests/fixtures on the configs' endpoint (scripts/serve-fixtures.mjs);
#  3. runs run-cat.sh from the shared CAT tool folder (SOURCE_S3_CAT_DIR, else the first
#     shared/tools/cat found next to this checkout or a folder above it).
# Arguments go to run-cat.sh: `npm run cat -- --skip-backward`, `npm run cat -- -- -k TestIncremental`.
# Runs as root (rootful podman). Exit status: pytest's (0 = all passed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

cat_dir=${SOURCE_S3_CAT_DIR:-}
if [ -z "$cat_dir" ]; then
  dir=$root
  while [ "$dir" != / ]; do
    dir=$(dirname "$dir")
    if [ -x "$dir/shared/tools/cat/run-cat.sh" ]; then cat_dir=$dir/shared/tools/cat; break; fi
  done
fi
[ -n "$cat_dir" ] && [ -f "$cat_dir/run-cat.sh" ] || { echo "npm run cat: no shared/tools/cat/run-cat.sh found; set SOURCE_S3_CAT_DIR" >&2; exit 2; }

image=${SOURCE_S3_IMAGE:-source-s3:dev}
bash scripts/container/build-image.sh

log=$(mktemp)
node scripts/serve-fixtures.mjs 2>"$log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do
  grep -q 'serve:fixtures: .* at http' "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 2; }
  sleep 0.2
done
grep -q 'serve:fixtures: .* at http' "$log" || { cat "$log" >&2; echo "npm run cat: the fixtures server did not start" >&2; exit 2; }
grep 'serve:fixtures:' "$log" >&2

# run-cat.sh takes its options, then the folder and image, then `--` and pytest's arguments.
options=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do options+=("$1"); shift; done
case $image in */*) ;; *) image=localhost/$image ;; esac # podman's name for a local image
bash "$cat_dir/run-cat.sh" "${options[@]}" "$root" "$image" "$@"
