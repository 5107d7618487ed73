#!/usr/bin/env bash
# The WHOIS benchmark: edge-whois over the WHOIS tree of a generated TLD, and the cheapest
# possible connection-per-query server (`loadtest tcp-limit`) for the practical limit, each on
# core 0; the clients (`loadtest whois`, a connection per query) on core 1.
#
#   loadtest/scripts/whois-bench.sh [DELEGATIONS] [SECONDS] [WORKDIR]
set -euo pipefail
delegations=${1:-1000000}
seconds=${2:-10}
work=${3:-/tmp/whois-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/loadtest/scripts/prepare.sh"
if prepare loadtest edge-whois; then rm -rf tree; fi
[ -d tree ] || "$bin/loadtest" gen-whois tld.zone --tree tree
# Queries: 90% registered domains in random order, 10% free names.
awk '$4 == "NS" && $1 != "tld." { sub(/\.$/, "", $1); print $1 }' tld.zone | sort -u \
  | shuf -n 90000 --random-source=tld.zone > queries.txt
seq 1 10000 | sed 's/^/free-name-/; s/$/.tld/' >> queries.txt
shuf --random-source=tld.zone queries.txt -o queries.txt

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
taskset -c 0 "$bin/edge-whois" --tree tree --tld tld --listen 127.0.0.1:4443 \
  --update-listen 127.0.0.1:4444 --metrics-listen 127.0.0.1:9444 2>/dev/null &
pids+=("$!")
taskset -c 0 "$bin/loadtest" tcp-limit --listen 127.0.0.1:4445 &
pids+=("$!")
for port in 4443 4445; do
  for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done
run() { taskset -c 1 "$bin/loadtest" whois --server "127.0.0.1:$1" --queries queries.txt --clients 32 --seconds "$seconds" "${@:2}"; }
# The first pass reads records the page cache may not hold (after a restart, or once the
# kernel reclaimed them); the measured runs follow it.
cold=$(run 4443)
limit=$(run 4445)
ours=$(run 4443)
rate=$(( $(echo "$ours" | cut -d' ' -f1 | cut -d. -f1) * 8 / 10 ))
limit80=$(run 4445 --rate "$rate")
ours80=$(run 4443 --rate "$rate")
echo "## WHOIS: $delegations domains, a connection per query, one server core, ${seconds}s per run"
echo
echo "- edge-whois, first pass over the queries: $cold"
echo "- bare accept-answer-close limit: $limit"
echo "- edge-whois: $ours"
echo "- at $rate queries/s (80% of edge-whois's rate): limit server: $limit80"
echo "- at $rate queries/s: edge-whois: $ours80"
echo "- edge-whois resident memory: $(( $(ps -o rss= --pid "${pids[0]}") / 1024 )) MiB; tree on disk: $(du -sh tree | cut -f1)"
