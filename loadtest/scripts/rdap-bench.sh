#!/usr/bin/env bash
# The RDAP benchmark: edge-whois's RDAP over the WHOIS tree of a generated TLD, the bare
# limit of the same HTTP stack (`loadtest http-limit`: edge-whois's listener and hyper settings
# answering a fixed body of an RDAP domain's size), and that limit reading each domain's
# record from the tree first (`--read-tree`: the floor of any answer made from the tree),
# each alone on core 0; the clients
# (`loadtest rdap`, keep-alive HTTP/1.1 connections) on core 1. Requests: 80% registered
# domains, 10% free names, 5% name-prefix searches, 5% name servers by address. Server CPU per
# request comes from the server's own /proc accounting over each run.
#
#   loadtest/scripts/rdap-bench.sh [DELEGATIONS] [SECONDS] [WORKDIR]
#   (defaults: 1000000, 10, /tmp/whois-bench — the tree whois-bench.sh writes is reused)
set -euo pipefail
delegations=${1:-1000000}
seconds=${2:-10}
work=${3:-/tmp/whois-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/loadtest/scripts/prepare.sh"
if prepare loadtest edge-whois; then rm -rf tree; fi
[ -d tree ] || "$bin/loadtest" gen-whois tld.zone --tree tree
awk '$4 == "NS" && $1 != "tld." { sub(/\.$/, "", $1); print $1 }' tld.zone | sort -u \
  | shuf -n 80000 --random-source=tld.zone | sed 's|^|/domain/|' > paths.txt
seq 1 10000 | sed 's|^|/domain/free-name-|; s|$|.tld|' >> paths.txt
awk '$4 == "NS" && $1 != "tld." { print substr($1, 1, 4) }' tld.zone | sort -u \
  | shuf -n 5000 --random-source=tld.zone --repeat | sed 's|^|/domains?name=|; s|$|*|' >> paths.txt
awk '$4 == "A" { print $5 }' tld.zone | sort -u | shuf -n 5000 --random-source=tld.zone --repeat \
  | sed 's|^|/nameservers?ip=|' >> paths.txt
shuf --random-source=tld.zone paths.txt -o paths.txt

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
taskset -c 0 "$bin/edge-whois" --tree tree --tld tld --listen 127.0.0.1:4443 \
  --rdap-listen 127.0.0.1:4480 --metrics-listen 127.0.0.1:9444 2>/dev/null &
pids+=("$!")
ours_pid=$!
for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/4480) 2>/dev/null && break; sleep 0.1; done
size=$(curl -s "http://127.0.0.1:4480$(grep -m1 '^/domain/' paths.txt)" | wc -c)
taskset -c 0 "$bin/loadtest" http-limit --listen 127.0.0.1:4481 --answer "$size" &
pids+=("$!")
limit_pid=$!
taskset -c 0 "$bin/loadtest" http-limit --listen 127.0.0.1:4482 --answer "$size" --read-tree tree &
pids+=("$!")
reading_pid=$!
for port in 4481 4482; do
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# One run: the client's line, then the server's CPU µs per request (CPU ticks are 10 ms).
run() {
  local pid=$1 port=$2 before out answered
  shift 2
  before=$(ticks "$pid")
  out=$(taskset -c 1 "$bin/loadtest" rdap --server "127.0.0.1:$port" --paths paths.txt --clients 32 --seconds "$seconds" "$@")
  answered=$(echo "$out" | sed -E 's/.*\(([0-9]+) answered.*/\1/')
  echo "$out; server CPU $(( ($(ticks "$pid") - before) * 10000 / (answered > 0 ? answered : 1) )) µs per request"
}
# The first pass reads records the page cache may not hold; the measured runs follow it.
cold=$(run "$ours_pid" 4480)
limit=$(run "$limit_pid" 4481)
ours=$(run "$ours_pid" 4480)
limit2=$(run "$limit_pid" 4481)
reading=$(run "$reading_pid" 4482)
reading2=$(run "$reading_pid" 4482)
ours2=$(run "$ours_pid" 4480)
best=$(printf '%s\n%s\n' "$ours" "$ours2" | cut -d' ' -f1 | sort -n | tail -1 | cut -d. -f1)
rate=$(( best * 8 / 10 ))
ours80=$(run "$ours_pid" 4480 --rate "$rate")
limit80=$(run "$limit_pid" 4481 --rate "$rate")
echo "## RDAP: $delegations domains, 32 keep-alive HTTP/1.1 connections, one server core, ${seconds}s per run"
echo
echo "- edge-whois RDAP, first pass over the paths: $cold"
echo "- bare limit of the same HTTP stack ($size-byte answers): $limit / $limit2"
echo "- the same limit reading each domain's record from the tree: $reading / $reading2"
echo "- edge-whois RDAP: $ours / $ours2"
echo "- at $rate requests/s (80% of edge-whois's best): edge-whois: $ours80"
echo "- at $rate requests/s: bare limit: $limit80"
echo "- edge-whois resident memory: $(( $(ps -o rss= --pid "$ours_pid") / 1024 )) MiB"
