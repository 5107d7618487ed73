#!/usr/bin/env bash
# The DNS serving benchmark, side by side: edge-dns, NSD and Knot on the same zone and query
# mix, each server pinned to core 0 with one worker, dnsperf pinned to core 1.
#
#   loadtest/scripts/dns-bench.sh [DELEGATIONS] [SECONDS] [WORKDIR]
#
# Reports for each server: time from start to first answer, resident memory once loaded,
# UDP and TCP queries per second at saturation (dnsperf), and latency percentiles at 80% of
# edge-dns's UDP rate (loadtest dns: open loop, batched, every answer timed; dnsperf reports
# only an average, and timing each query with its -v slows it below that rate).
# Needs dnsperf, nsd and knot (Debian packages) and root for nothing else.
set -euo pipefail
delegations=${1:-1000000}
seconds=${2:-20}
work=${3:-/tmp/dns-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/loadtest/scripts/prepare.sh"
prepare zonefiles loadtest edge-dns || true
"$bin/zonefiles" compile --quiet tld.zone -o tld.img >/dev/null
"$bin/loadtest" gen-queries tld.zone -o queries.txt --count 1000000 >/dev/null

ready() { # port: wait until the server answers, print seconds since $2 (epoch ns)
  for _ in $(seq 1 600); do
    if dig @127.0.0.1 -p "$1" tld. SOA +short +norec +time=1 +tries=1 2>/dev/null | grep -q .; then
      echo "scale=3; ($(date +%s%N) - $2) / 1000000000" | bc
      return
    fi
    sleep 0.05
  done
  echo timeout
}

cat > nsd.conf <<CONF
server:
  ip-address: 127.0.0.1@5301
  port: 5301
  username: ""
  chroot: ""
  zonesdir: "$work"
  database: ""
  zonelistfile: "$work/zone.list"
  pidfile: "$work/nsd.pid"
  xfrdfile: "$work/xfrd.state"
  xfrdir: "$work"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: tld
  zonefile: "$work/tld.zone"
CONF
mkdir -p knot
cat > knot.conf <<CONF
server:
    listen: 127.0.0.1@5302
    rundir: "$work/knot"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
template:
  - id: default
    storage: "$work"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: tld
    file: "$work/tld.zone"
CONF

# The floor under every server's tail: what the machine takes from the server core.
stalls=$(taskset -c 0 "$bin/loadtest" stalls --seconds 5)

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT

start() { # name port command... : sets pid, started_s, rss_mib
  local name=$1 port=$2
  shift 2
  local t0
  t0=$(date +%s%N)
  taskset -c 0 "$@" >"$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  started_s=$(ready "$port" "$t0")
  sleep 1
  # The whole process tree: NSD serves from a forked child.
  rss_mib=$(( $(ps -o rss= --pid "$pid" --ppid "$pid" | awk '{s += $1} END {print s}') / 1024 ))
}

perf() { # port mode [rate]: qps and average latency
  local extra=()
  [ -n "${3:-}" ] && extra=(-Q "$3")
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -m "$2" -d queries.txt -l "$seconds" -c 16 -q 512 "${extra[@]}" 2>/dev/null \
    | awk '/Queries per second/ {qps=$4} /Average Latency/ {lat=$4; sd=$6} END {printf "%d %s %s\n", qps, lat, sd}'
}

latency() { # port rate: achieved qps and p50/p99/p99.9 latency (ms), from loadtest dns
  taskset -c 1 "$bin/loadtest" dns --server "127.0.0.1:$1" --queries queries.txt --rate "$2" --seconds "$seconds" \
    | sed -E 's/.* at ([0-9]+) qps.*p50 ([0-9]+) p90 [0-9]+ p99 ([0-9]+) p99.9 ([0-9]+).*/\2 \3 \4 \1/' \
    | awk '{printf "%.3f %.3f %.3f %d\n", $1 / 1000, $2 / 1000, $3 / 1000, $4}'
}

declare -A ready_s rss_m udp tcp
run() { # name port command...
  local name=$1 port=$2
  start "$@"
  ready_s[$name]=$started_s
  rss_m[$name]=$rss_mib
  udp[$name]=$(perf "$port" udp)
  tcp[$name]=$(perf "$port" tcp)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

run edge-dns 5303 "$bin/edge-dns" --zone tld.img --listen 127.0.0.1:5303 --workers 1
run nsd 5301 nsd -d -c nsd.conf
run knot 5302 knotd -c knot.conf

# Latency at 80% of edge-dns's UDP saturation rate, for each server at that same rate.
rate=$(( $(echo "${udp[edge-dns]}" | cut -d' ' -f1) * 8 / 10 ))
declare -A at80
for s in edge-dns:5303 nsd:5301 knot:5302; do
  name=${s%%:*}
  port=${s##*:}
  case $name in
    edge-dns) cmd=("$bin/edge-dns" --zone tld.img --listen 127.0.0.1:5303 --workers 1) ;;
    nsd) cmd=(nsd -d -c nsd.conf) ;;
    knot) cmd=(knotd -c knot.conf) ;;
  esac
  start "$name" "$port" "${cmd[@]}"
  at80[$name]=$(latency "$port" "$rate")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done

echo "## DNS serving: $delegations delegations, one server core, dnsperf on the other, ${seconds}s per run"
echo
echo "| server | ready after start | RSS loaded | UDP qps | UDP avg latency | TCP qps | at ${rate} qps (80% of edge-dns UDP): achieved qps, p50 / p99 / p99.9 latency |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
for name in edge-dns nsd knot; do
  read -r uq ul _ <<<"${udp[$name]}"
  read -r tq _ _ <<<"${tcp[$name]}"
  read -r p50 p99 p999 aq <<<"${at80[$name]}"
  echo "| $name | ${ready_s[$name]} s | ${rss_m[$name]} MiB | $uq | ${ul} s | $tq | $aq, $p50 / $p99 / $p999 ms |"
done
echo
echo "Server core while idle (loadtest stalls): $stalls"
