#!/usr/bin/env bash
# How zone compilation and edge-dns scale with the zone: the same steps at several sizes.
#
#   loadtest/scripts/scale-bench.sh [SIZES] [SECONDS] [WORKDIR]
#   SIZES: delegations per run, default "1000000 3000000 10000000"
#   SHAPE=pairs (the default here: each domain's NS pair drawn from 5,000 hosts) or providers
#
# For each size: generates the zone (`loadtest gen-zone`), compiles it (wall time, peak RSS,
# image size against the text, the compiler's own breakdown), then starts edge-dns on the
# image pinned to core 0 with one worker and reports the time to its first answer, its
# resident memory once the background check of the image has ended, UDP queries per second
# and server CPU per query under dnsperf on core 1 (`-c 16 -q 512`, SECONDS, default 10) with
# `loadtest gen-queries`' mix, and its resident memory after that load.
# The 10M run needs about 5 GB of disk in WORKDIR (default /tmp/scale-bench) and 5 GB of memory.
set -euo pipefail
sizes=${1:-1000000 3000000 10000000}
seconds=${2:-10}
work=${3:-/tmp/scale-bench}
shape=${SHAPE:-pairs}
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v dnsperf >/dev/null || { echo "scale-bench: needs dnsperf (apt-get install dnsperf)" >&2; exit 1; }
(cd "$root" && cargo build --release --locked -q -p zonefiles -p loadtest -p edge-dns)
bin=$root/target/release
mkdir -p "$work"
cd "$work"

ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
rss() { echo $(( $(ps -o rss= --pid "$1") / 1024 )); }

echo "| delegations | records | text | compile | peak RSS | image (of the text) | ready | RSS checked | UDP qps | CPU per query | RSS after load |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for size in $sizes; do
  zone=tld-$shape-$size.zone
  [ -f "$zone" ] || "$bin/loadtest" gen-zone -o "$zone" --delegations "$size" --shape "$shape" >/dev/null
  [ -f "$zone.queries" ] || "$bin/loadtest" gen-queries "$zone" -o "$zone.queries" --count 1000000 >/dev/null
  /usr/bin/time -f "%e %M" -o time.out "$bin/zonefiles" compile --quiet "$zone" -o tld.img >compile.out
  read -r wall kb <time.out
  text=$(stat -c %s "$zone")
  image=$(stat -c %s tld.img)
  records=$(sed -E 's/.*, ([0-9]+) records.*/\1/' compile.out)
  breakdown=$(sed -E 's/.*\((.*)\)$/\1/' compile.out)
  t0=$(date +%s%N)
  taskset -c 0 "$bin/edge-dns" --zone tld.img --listen 127.0.0.1:5395 --workers 1 >edge-dns.log 2>&1 &
  pid=$!
  ready=$(taskset -c 1 "$bin/loadtest" ready --server 127.0.0.1:5395 --since-ns "$t0" || echo timeout)
  for _ in $(seq 1 600); do grep -q 'index checked' edge-dns.log && break; sleep 0.1; done
  idle=$(rss "$pid")
  before=$(ticks "$pid")
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p 5395 -m udp -d "$zone.queries" -l "$seconds" -c 16 -q 512 2>/dev/null)
  spent=$(( $(ticks "$pid") - before ))
  after=$(rss "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  read -r qps cpu < <(echo "$out" | awk -v ticks="$spent" '/Queries completed/ {done=$3} /Queries per second/ {qps=$4}
    END {printf "%d %.2f\n", qps, (done > 0 ? ticks * 10000 / done : 0)}')
  printf '| %s | %s | %d MB | %s s (%s) | %d MiB | %d MB (%d%%) | %s ms | %s MiB | %s | %s µs | %s MiB |\n' \
    "$size" "$records" $((text / 1000000)) "$wall" "$breakdown" $((kb / 1024)) $((image / 1000000)) \
    $((image * 100 / text)) "$ready" "$idle" "$qps" "$cpu" "$after"
done
