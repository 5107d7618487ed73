#!/usr/bin/env bash
# Runs fuzz targets for a bounded time each, on their committed corpora, and fails on any crash,
# leak or timeout. What a run finds is added to the corpus folder: minimize it
# (`RUSTC_BOOTSTRAP=1 cargo fuzz cmin -O TARGET corpus/TARGET`) and commit it, so every run after
# starts where this one stopped.
# Prints the executions per target. CI runs every target for 20 s, as many at once as there are
# cores; a long run:
#
#   fuzz/run.sh 3600                      # an hour per target
#   fuzz/run.sh 600 srrp_request dns_query
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`); the nightly features it needs are enabled with
# RUSTC_BOOTSTRAP on the stable toolchain.
set -euo pipefail
seconds=${1:-20}
shift || true
cd "$(dirname "$0")"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O >/dev/null
# Targets run side by side, one per core (`FUZZ_JOBS` to choose), straight from the binaries the
# build made: a `cargo fuzz run` per target would take cargo's build lock each time.
bin=${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')/release
jobs=${FUZZ_JOBS:-$(nproc)}
# What `cargo fuzz run` sets for an address-sanitized target.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_odr_violation=0
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
fuzz_one() {
  local target=$1 log="$results/$1.log" status=ok
  mkdir -p "corpus/$target"
  "$bin/$target" "corpus/$target" -artifact_prefix="artifacts/$target/" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"$log" 2>&1 || status=FAILED
  echo "$status" >"$results/$target.status"
}
for target in "${targets[@]}"; do
  mkdir -p "artifacts/$target"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  fuzz_one "$target" &
done
wait
failed=()
printf '%-22s %12s %10s %8s\n' target executions exec/s corpus
for target in "${targets[@]}"; do
  status=$(cat "$results/$target.status")
  if [ "$status" != ok ]; then
    failed+=("$target")
    tail -40 "$results/$target.log"
  fi
  runs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$results/$target.log")
  printf '%-22s %12s %10s %8s %s\n' "$target" "${runs:-?}" "$(( ${runs:-0} / seconds ))" \
    "$(ls "corpus/$target" | wc -l)" "$status"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${failed[*]} failed (crash inputs are in fuzz/artifacts/)" >&2
  exit 1
fi
