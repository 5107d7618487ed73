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
# The 10M run needs about 5 GB of disk in WORKDIR (default /tmp/scale-bench) and 2 GB of memory
# (5 GB with UPDATES=1: `zonefiles dir update` holds both zones).
#
# UPDATES=1 adds, for each size, the zone directory's update path as a satellite runs it:
# edge-dns following a zone directory (`zonefiles dir init`), five changesets of 200 to 1,000
# changed delegations appended and timed until edge-dns answers with each (`loadtest
# update-latency --step 200`), then one changeset of 100,000 changed delegations
# (`zonefiles dir update`) and a compaction of the directory (`zonefiles dir compact`: wall
# time, peak RSS) while dnsperf keeps querying edge-dns, with the queries it lost.
#
# PROPAGATION=1 adds the report's propagation suite at the sizes (see the end).
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

if [ "${UPDATES:-}" = 1 ]; then
  echo
  echo "| delegations | append to answer: 200, 400, 600, 800, 1,000 delegations changed | append of 100,000 | compaction while serving | its peak RSS | queries lost meanwhile |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for size in $sizes; do
    zone=tld-$shape-$size.zone
    rm -rf tld-dir
    "$bin/zonefiles" dir init tld-dir "$zone" >/dev/null
    cat > edge-dns.toml <<CONF
listen = ["127.0.0.1:5396"]
metrics_listen = "127.0.0.1:9396"
workers = 1
[[zone]]
directory = "tld-dir"
CONF
    taskset -c 0 "$bin/edge-dns" --config edge-dns.toml >edge-dns.log 2>&1 &
    pid=$!
    taskset -c 1 "$bin/loadtest" ready --server 127.0.0.1:5396 --since-ns "$(date +%s%N)" >/dev/null
    latencies=$("$bin/loadtest" update-latency --dir tld-dir --server 127.0.0.1:5396 \
      --delegations "$size" --shape "$shape" --rounds 5 --step 200 \
      | sed -nE 's/.*answered ([0-9.]+[a-zµ]+) after.*/\1/p' | paste -sd' ')
    serial=$("$bin/zonefiles" dir status tld-dir | sed -nE 's/.*serial ([0-9]+).*/\1/p' | tail -1)
    "$bin/loadtest" gen-zone -o next.zone --delegations "$size" --shape "$shape" \
      --serial $((serial + 1)) --changed 100000 >/dev/null
    /usr/bin/time -f "%e" -o time.out "$bin/zonefiles" dir update tld-dir next.zone >/dev/null
    append=$(cat time.out)
    taskset -c 1 dnsperf -s 127.0.0.1 -p 5396 -m udp -d "$zone.queries" -l 600 -c 16 -q 512 -Q 20000 \
      >dnsperf.out 2>&1 &
    perf_pid=$!
    sleep 1
    /usr/bin/time -f "%e %M" -o time.out "$bin/zonefiles" dir compact tld-dir >/dev/null
    read -r compact kb <time.out
    sleep 1
    kill -INT "$perf_pid"
    wait "$perf_pid" 2>/dev/null || true
    lost=$(sed -nE 's/.*Queries lost: +([0-9]+ \([0-9.]+%\)).*/\1/p' dnsperf.out)
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    printf '| %s | %s | %s s | %s s | %d MiB | %s |\n' "$size" "$latencies" "$append" "$compact" \
      $((kb / 1024)) "${lost:-?}"
  done
fi

# PROPAGATION=1: registrar to two full satellites at each size, as the report's propagation
# suite measures it (`loadtest report --suites propagation`), beside a 2,000-domain registry.
# Ten million needs about 60 GB in WORKDIR and hours: two satellites hold 22 million WHOIS
# files (use a file system with small inodes and inline data, see docs/benchmarks.md).
if [ "${PROPAGATION:-}" = 1 ]; then
  (cd "$root" && cargo build --release --locked -q --workspace)
  "$bin/loadtest" report --suites propagation --servers edge-dns --repetitions 1 \
    --registry-sizes "2000,$(echo $sizes | tr ' ' ,)" --work "$work/propagation" \
    --out "$work/propagation-report"
  cat "$work/propagation-report/report.md"
fi
