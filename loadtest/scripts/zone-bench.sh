#!/usr/bin/env bash
# The zone-tooling benchmark, side by side with NSD, Knot and BIND on the same zone.
#
#   loadtest/scripts/zone-bench.sh [DELEGATIONS] [WORKDIR]
#   SHAPES="providers pairs" (default: both): the generator's zone shapes to run, in turn
#
# For each shape (`loadtest gen-zone --shape`: NS sets shared by hosting providers, or drawn
# per domain from a pool of 5,000 hosts), generates a TLD-shaped zone (default 1,000,000
# delegations) and a copy with 1,000 changed delegations, then reports: load time (parse + check) and peak memory of nsd-checkzone,
# kzonecheck and named-checkzone; our parse + check + compile time and memory; image size
# against text size; open + first look-up (cold cache when this runs as root, and warm);
# warm look-up cost; and the diff of the two zones. Prints a Markdown table.
set -euo pipefail
delegations=${1:-1000000}
work=${2:-$(mktemp -d)}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo build --release --locked -q -p zonefiles -p loadtest
bin=$root/target/release
mkdir -p "$work"
cd "$work"

# Median wall time (s) and peak RSS (MiB) of three runs of a command.
measure() {
  local runs=() rss=()
  for _ in 1 2 3; do
    /usr/bin/time -f "%e %M" -o time.out "$@" >/dev/null 2>&1 || true
    read -r secs kb < time.out
    runs+=("$secs"); rss+=("$kb")
  done
  local med
  med=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
  local mem
  mem=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n 2p)
  echo "$med $((mem / 1024))"
}

row() { printf '| %s | %s s | %s MiB |\n' "$1" "$2" "$3"; }

for shape in ${SHAPES:-providers pairs}; do
  "$bin/loadtest" gen-zone -o tld.zone --delegations "$delegations" --shape "$shape" >/dev/null
  "$bin/loadtest" gen-zone -o tld2.zone --delegations "$delegations" --shape "$shape" --serial 2026112102 --changed $((delegations / 1000)) >/dev/null
  text_bytes=$(stat -c %s tld.zone)
  records=$(wc -l < tld.zone)
  echo "## Zone tooling, shape \`$shape\`: $delegations delegations, $records records, $((text_bytes / 1000000)) MB of text"
  echo
  echo "| load (parse + check) | median of 3 | peak RSS |"
  echo "| --- | --- | --- |"
  for tool in "nsd-checkzone tld tld.zone" "kzonecheck -o tld tld.zone" "named-checkzone -i local -q tld tld.zone"; do
    name=${tool%% *}
    if command -v "$name" >/dev/null; then
      read -r secs mib < <(measure $tool)
      row "$name" "$secs" "$mib"
    fi
done
read -r secs mib < <(measure "$bin/zonefiles" check tld.zone)
row "zonefiles check" "$secs" "$mib"
read -r secs mib < <(measure "$bin/zonefiles" compile --quiet tld.zone -o tld.img)
row "**zonefiles compile** (parse + check + compile + write)" "$secs" "$mib"
"$bin/zonefiles" compile --quiet tld2.zone -o tld2.img >/dev/null
image_bytes=$(stat -c %s tld.img)
echo
echo "Image: $image_bytes bytes, $((image_bytes * 100 / text_bytes))% of the zone text."
echo
if sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then
  echo "Cold page cache:"
  echo '```'
  "$bin/loadtest" zone-bench tld.img --rounds 0 | head -1
  echo '```'
fi
echo "Warm:"
echo '```'
"$bin/loadtest" zone-bench tld.img --changed tld2.img --rounds 5
echo '```'
echo
done
