#!/usr/bin/env bash
# The DNS serving benchmark, side by side: edge-dns, NSD and Knot on the same zone and query
# mix, each server pinned to core 0 with one worker, dnsperf pinned to core 1.
#
#   loadtest/scripts/dns-bench.sh [DELEGATIONS] [SECONDS] [WORKDIR]
#   SHAPES="providers pairs" (the default: both, one after the other, each in WORKDIR/<shape>):
#   the zone's shape (`loadtest gen-zone --shape`: NS sets a few hosting providers share, or
#   each domain's NS pair drawn from 5,000 hosts)
#
# Reports for each server: time from start to first answer (`loadtest ready`: a SOA query
# every millisecond), resident memory after the runs,
# UDP and TCP queries per second at saturation (dnsperf) and the server's CPU time per query
# from its own accounting (/proc, the process and its children: a slow or saturated load
# generator cannot flatter it) beside the floor of the same UDP loop answering each query with
# itself (`edge-dns --reflect`), UDP with response rate limiting
# counting every response (edge-dns and NSD), and latency percentiles at 80% of
# edge-dns's UDP rate (loadtest dns: open loop, batched, every answer timed; dnsperf reports
# only an average, and timing each query with its -v slows it below that rate).
# Needs dnsperf, nsd and knot (Debian packages) and root for nothing else.
set -euo pipefail
delegations=${1:-1000000}
seconds=${2:-20}
work=${3:-/tmp/dns-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
for tool in dnsperf nsd knotd; do
  command -v "$tool" >/dev/null || { echo "dns-bench: needs $tool (apt-get install dnsperf nsd knot)" >&2; exit 1; }
done
if [ -z "${SHAPE:-}" ]; then
  for shape in ${SHAPES:-providers pairs}; do
    SHAPE=$shape "$0" "$delegations" "$seconds" "$work/$shape"
    echo
  done
  exit 0
fi
. "$root/loadtest/scripts/prepare.sh"
prepare zonefiles loadtest edge-dns || true
"$bin/zonefiles" compile --quiet tld.zone -o tld.img >/dev/null
"$bin/loadtest" gen-queries tld.zone -o queries.txt --count 1000000 >/dev/null

ready() { # port start-ns: milliseconds from the start to the first SOA answer
  taskset -c 1 "$bin/loadtest" ready --server "127.0.0.1:$1" --since-ns "$2" || echo timeout
}

nsd_conf() { # port rrl-ratelimit
  cat <<CONF
server:
  ip-address: 127.0.0.1@$1
  port: $1
  username: ""
  chroot: ""
  zonesdir: "$work"
  database: ""
  zonelistfile: "$work/zone.list"
  pidfile: "$work/nsd-$1.pid"
  xfrdfile: "$work/xfrd-$1.state"
  xfrdir: "$work"
  server-count: 1
  verbosity: 0
  rrl-ratelimit: $2
remote-control:
  control-enable: no
zone:
  name: tld
  zonefile: "$work/tld.zone"
CONF
}
nsd_conf 5301 0 > nsd.conf
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

start() { # name port command... : sets pid, started_ms
  local name=$1 port=$2
  shift 2
  local t0
  t0=$(date +%s%N)
  taskset -c 0 "$@" >"$name.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  started_ms=$(ready "$port" "$t0")
  sleep 1
}

rss() { # pid: resident MiB of the whole process tree (NSD serves from a forked child)
  echo $(( $(ps -o rss= --pid "$1" --ppid "$1" | awk '{s += $1} END {print s}') / 1024 ))
}

ticks() { # pid: CPU ticks (user + system, 10 ms each) of the process and all its descendants
  # (NSD serves from a grandchild). The name in /proc/PID/stat may hold spaces ("nsd: main"):
  # the fields are counted after its closing parenthesis.
  local t p
  t=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }')
  for p in $(ps -o pid= --ppid "$1"); do
    t=$(( ${t:-0} + $(ticks "$p") ))
  done
  echo "${t:-0}"
}

perf() { # port mode [rate]: qps, average latency, its deviation, server CPU µs per query
  local extra=() before out
  [ -n "${3:-}" ] && extra=(-Q "$3")
  before=$(ticks "$pid")
  out=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$1" -m "$2" -d queries.txt -l "$seconds" -c 16 -q 512 "${extra[@]}" 2>/dev/null)
  echo "$out" | awk -v ticks=$(( $(ticks "$pid") - before )) '
    /Queries completed/ {done=$3} /Queries per second/ {qps=$4} /Average Latency/ {lat=$4; sd=$6}
    END {printf "%d %s %s %.2f\n", qps, lat, sd, (done > 0 ? ticks * 10000 / done : 0)}'
}

latency() { # port rate: p50/p99/p99.9 latency (ms) and the share of queries lost, from loadtest dns
  taskset -c 1 "$bin/loadtest" dns --server "127.0.0.1:$1" --queries queries.txt --rate "$2" --seconds "$seconds" \
    | sed -E 's/.*\(([0-9.]+)% lost\).*p50 ([0-9]+) p90 [0-9]+ p99 ([0-9]+) p99.9 ([0-9]+).*/\2 \3 \4 \1/' \
    | awk '{printf "%.3f %.3f %.3f %s%%\n", $1 / 1000, $2 / 1000, $3 / 1000, $4}'
}

declare -A ready_ms rss_m udp tcp
run() { # name port command...
  local name=$1 port=$2
  start "$@"
  ready_ms[$name]=$started_ms
  udp[$name]=$(perf "$port" udp)
  tcp[$name]=$(perf "$port" tcp)
  rss_m[$name]=$(rss "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

run edge-dns 5303 "$bin/edge-dns" --zone tld.img --listen 127.0.0.1:5303 --workers 1
# The floor: the same UDP socket loop answering every query with itself (no engine, no zone).
# (No readiness probe: it answers no SOA. One second is plenty for a server that maps its image.)
taskset -c 0 "$bin/edge-dns" --reflect --zone tld.img --listen 127.0.0.1:5307 --workers 1 >reflector.log 2>&1 &
pid=$!
pids+=("$pid")
sleep 1
reflect=$(perf 5307 udp)
kill "$pid"; wait "$pid" 2>/dev/null || true
run nsd 5301 nsd -d -c nsd.conf
run knot 5302 knotd -c knot.conf

# Latency at 80% of edge-dns's UDP saturation rate, and at 80% of NSD's (a load every server
# can carry), for each server at the same rates.
rate=$(( $(echo "${udp[edge-dns]}" | cut -d' ' -f1) * 8 / 10 ))
rate_nsd=$(( $(echo "${udp[nsd]}" | cut -d' ' -f1) * 8 / 10 ))
declare -A at80 at80nsd
# edge-dns also with its UDP worker polling for 200 µs before it sleeps (busy_poll_us).
cat > busy-poll.toml <<CONF
listen = ["127.0.0.1:5304"]
workers = 1
busy_poll_us = 200
metrics_listen = "127.0.0.1:9304"
[[zone]]
image = "tld.img"
CONF
for s in edge-dns:5303 edge-dns-busy-poll:5304 nsd:5301 knot:5302; do
  name=${s%%:*}
  port=${s##*:}
  case $name in
    edge-dns) cmd=("$bin/edge-dns" --zone tld.img --listen 127.0.0.1:5303 --workers 1) ;;
    edge-dns-busy-poll) cmd=("$bin/edge-dns" --config busy-poll.toml) ;;
    nsd) cmd=(nsd -d -c nsd.conf) ;;
    knot) cmd=(knotd -c knot.conf) ;;
  esac
  start "$name" "$port" "${cmd[@]}"
  at80[$name]=$(latency "$port" "$rate")
  at80nsd[$name]=$(latency "$port" "$rate_nsd")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
done

# The cost of response rate limiting: edge-dns and NSD with it on and every response counted
# (loopback not exempt, a rate far above the load so that nothing is limited).
nsd_conf 5305 4000000 > nsd-rrl.conf
cat > rrl.toml <<CONF
listen = ["127.0.0.1:5306"]
workers = 1
metrics_listen = "127.0.0.1:9306"
[rate_limit]
responses_per_second = 4000000
exempt = []
[[zone]]
image = "tld.img"
CONF
metric() { # port name-prefix: the sum of an edge-dns metric's lines
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  awk -v m="$2" 'index($0, m) == 1 {s += $NF} END {print s + 0}' <&3
  exec 3<&-
}
declare -A rrl_udp
start edge-dns-rrl 5306 "$bin/edge-dns" --config rrl.toml
rrl_udp[edge-dns]=$(perf 5306 udp)
rrl_limited=$(metric 9306 edge_dns_rate_limited_total)
kill "$pid"; wait "$pid" 2>/dev/null || true
start nsd-rrl 5305 nsd -d -c nsd-rrl.conf
rrl_udp[nsd]=$(perf 5305 udp)
kill "$pid"; wait "$pid" 2>/dev/null || true

echo "## DNS serving, shape \`$SHAPE\`: $delegations delegations, one server core, dnsperf on the other, ${seconds}s per run"
echo
echo "| server | ready after start | RSS after the runs | UDP qps | UDP server CPU per query | UDP avg latency | TCP qps | TCP server CPU per query |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for name in edge-dns nsd knot; do
  read -r uq ul _ uc <<<"${udp[$name]}"
  read -r tq _ _ tc <<<"${tcp[$name]}"
  echo "| $name | ${ready_ms[$name]} ms | ${rss_m[$name]} MiB | $uq | $uc µs | ${ul} s | $tq | $tc µs |"
done
latency_table() { # title results-array-name
  local -n results=$2
  echo
  echo "At $1, loadtest dns:"
  echo
  echo "| server | p50 | p99 | p99.9 | lost |"
  echo "| --- | --- | --- | --- | --- |"
  for name in edge-dns edge-dns-busy-poll nsd knot; do
    read -r p50 p99 p999 lost <<<"${results[$name]}"
    echo "| $name | $p50 ms | $p99 ms | $p999 ms | $lost |"
  done
}
latency_table "${rate} qps (80% of edge-dns's UDP rate)" at80
latency_table "${rate_nsd} qps (80% of NSD's UDP rate)" at80nsd
echo
echo "Response rate limiting on, every response counted (edge-dns limited $rrl_limited):"
echo
echo "| server | UDP qps, limiting off | UDP qps, limiting on | on/off |"
echo "| --- | --- | --- | --- |"
for name in edge-dns nsd; do
  off=$(echo "${udp[$name]}" | cut -d' ' -f1)
  on=$(echo "${rrl_udp[$name]}" | cut -d' ' -f1)
  echo "| $name | $off | $on | $(echo "scale=3; $on / $off" | bc) |"
done
read -r rq _ _ rc <<<"$reflect"
read -r _ _ _ ec <<<"${udp[edge-dns]}"
read -r _ _ _ nc <<<"${udp[nsd]}"
echo
echo "The floor: edge-dns's UDP loop answering each query with itself (\`--reflect\`, no engine):"
echo "$rq qps, $rc µs of server CPU per query. Of edge-dns's $ec µs per query, the answer engine"
echo "and what it touches take $(echo "scale=2; $ec - $rc" | bc) µs ($(echo "scale=1; 100 * ($ec - $rc) / $ec" | bc)%);"
echo "1.5x NSD's rate would need $(echo "scale=2; $nc / 1.5" | bc) µs per query, $(echo "scale=2; $nc / 1.5 - $rc" | bc) µs above the floor."
echo
echo "Server core while idle (loadtest stalls): $stalls"
