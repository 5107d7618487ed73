#!/usr/bin/env bash
# The push pipeline's benchmark: a control plane (fresh registry, zone tld, 50 registrars) and
# two full satellites (update-agent + edge-dns + edge-whois each) on loopback, all on this
# machine's cores. `loadtest propagation` sends SRRP creates at a fixed rate and times, for each
# confirmed create, until both satellites' DNS and WHOIS answer the new name. Then satellite 2's
# agent is stopped while the registry takes CATCHUP_SECONDS of changes at CATCHUP_RATE, and
# restarted: the time until it holds the newest serial again is the catch-up time.
#
# With CATCHUP_PERF=1 the catching-up agent is profiled (perf record -g into WORKDIR/catchup.perf).
#
#   loadtest/scripts/propagation-bench.sh [RATES] [SECONDS] [CATCHUP_RATE] [CATCHUP_SECONDS] [WORKDIR]
#   (defaults: "100 1000 3000", 10, 1000, 60, /tmp/propagation-bench)
set -euo pipefail
rates=${1:-"100 1000 3000"}
seconds=${2:-10}
catchup_rate=${3:-1000}
catchup_seconds=${4:-60}
work=${5:-/tmp/propagation-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$root" && cargo build --release --locked -q -p control-plane -p update-agent -p edge-dns -p edge-whois -p loadtest)
bin=$root/target/release
rm -rf "$work" && mkdir -p "$work" && cd "$work"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
. "$root/loadtest/scripts/registry.sh"
registry 1855 9855 4855
"$bin/control-plane" -c cp.toml serve 2>cp.log &
pids+=($!)
cp_pid=$!
for s in 1 2; do
  mkdir "sat$s"
  "$bin/update-agent" keygen --dir "sat$s" --name node >/dev/null
  cp satellite add "sat$s" "sat$s/node.pub"
  cat > "sat$s/agent.toml" <<TOML
id = "sat$s"
upstream = "127.0.0.1:4855"
upstream_key = "$(cat keys/tunnel.pub)"
signing_keys = ["$(cat keys/signing.pub)"]
metrics_listen = "127.0.0.1:986$s"
compact_after = 1000
[[zone]]
origin = "tld"
directory = "zones/tld"
TOML
  cat > "sat$s/dns.toml" <<TOML
listen = ["127.0.0.1:587$s"]
metrics_listen = "127.0.0.1:987$s"
[[zone]]
directory = "zones/tld"
TOML
done
start_agent() { (cd "sat$1" && exec "$bin/update-agent" -c agent.toml 2>>agent.log) & pids+=($!); eval "agent$1=$!"; }
agent_serial() { curl -s "127.0.0.1:986$1/metrics" | awk '$1 == "update_agent_serial{zone=\"tld\"}" { print $2 }'; }
newest() { curl -s 127.0.0.1:9855/metrics | awk '$1 == "control_plane_journal_serial{zone=\"tld\"}" { print $2 }'; }
sleep 0.5
for s in 1 2; do
  start_agent "$s"
  for _ in $(seq 1 200); do [ -n "$(agent_serial "$s")" ] && break; sleep 0.05; done
  (cd "sat$s" && exec "$bin/edge-dns" --config dns.toml 2>dns.log) & pids+=($!)
  (cd "sat$s" && exec "$bin/edge-whois" --tree whois --tld tld --listen "127.0.0.1:588$s" --metrics-listen "127.0.0.1:988$s" 2>whois.log) & pids+=($!)
done
sleep 1
# Verify every registrar's password once (Argon2), so the measured runs see the steady state.
"$bin/loadtest" srrp --server 127.0.0.1:1855 --ca keys/srrp.crt --prefix w- --seconds 1 >/dev/null
echo "## Propagation: SRRP confirmation → answered by both satellites' DNS and WHOIS (${seconds}s per rate)"
echo
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
for rate in $rates; do
  echo "### offered $rate changes/s"
  before=(); for p in "$cp_pid" "$agent1" "$agent2"; do before+=("$(cpu "$p")"); done
  applied0=$(curl -s 127.0.0.1:9861/metrics | awk '$1 == "update_agent_changesets_applied_total" { print $2 }')
  "$bin/loadtest" propagation --server 127.0.0.1:1855 --ca keys/srrp.crt --prefix "r$rate-" \
    --rate "$rate" --seconds "$seconds" --sample $(( rate / 100 > 0 ? rate / 100 : 1 )) \
    --satellite 127.0.0.1:5871,127.0.0.1:5881 --satellite 127.0.0.1:5872,127.0.0.1:5882 | tee run.out
  applied1=$(curl -s 127.0.0.1:9861/metrics | awk '$1 == "update_agent_changesets_applied_total" { print $2 }')
  confirmed=$(awk '/confirmed/ { gsub(/[(]/, "", $5); print $5; exit }' run.out)
  after=(); for p in "$cp_pid" "$agent1" "$agent2"; do after+=("$(cpu "$p")"); done
  # CPU ticks are 10 ms; per change in µs.
  echo "CPU per registered change: control plane (SRRP, commit, push to 2 satellites) $(( (after[0] - before[0]) * 10000 / confirmed )) µs, each agent $(( (after[1] - before[1] + after[2] - before[2]) * 5000 / confirmed )) µs; changesets per satellite: $(( applied1 - applied0 )) (one per commit batch)"
  echo
done
echo "### catch-up: satellite 2 cut off for ${catchup_seconds}s of changes at ${catchup_rate}/s"
kill "$agent2"; wait "$agent2" 2>/dev/null || true
"$bin/loadtest" propagation --server 127.0.0.1:1855 --ca keys/srrp.crt --prefix c- \
  --rate "$catchup_rate" --seconds "$catchup_seconds" --sample 1000000000 \
  --satellite 127.0.0.1:5871,127.0.0.1:5881 | head -1
target=$(newest)
until [ "$(agent_serial 1)" = "$target" ]; do sleep 0.05; done
changes=$(curl -s 127.0.0.1:9861/metrics | awk '$1 == "update_agent_changesets_applied_total" { print $2 }')
start=$(date +%s.%N)
start_agent 2
if [ -n "${CATCHUP_PERF:-}" ]; then
  perf record -F 499 -g -o "$work/catchup.perf" -p "$agent2" 2>/dev/null & perf_pid=$!
fi
until [ "$(agent_serial 2)" = "$target" ]; do sleep 0.01; done
end=$(date +%s.%N)
agent2_cpu=$(cpu "$agent2")
if [ -n "${perf_pid:-}" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
echo "caught up to serial $target in $(echo "$end - $start" | bc) s (process start included), agent CPU ${agent2_cpu}0 ms; satellite 1 applied $changes changesets in all"
cpu=$(awk '{ print ($14 + $15) / 100 }' "/proc/$cp_pid/stat")
echo "control plane CPU over the whole run: ${cpu} s"
