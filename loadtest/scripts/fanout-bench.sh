#!/usr/bin/env bash
# Fan-out: the control plane's cost of feeding many satellites. A control plane (fresh
# registry, zone tld, 50 registrars) takes SRRP creates at a fixed rate, first with no
# satellite, then with AGENTS update-agents (each with its own zone directory and WHOIS tree, no
# servers) on the same machine. Reported: the control plane's CPU per changeset per satellite
# (the difference between the two runs, from /proc), and the commit-to-acknowledgement latency
# over every satellite from the control plane's own histogram (control_plane_push_ack_seconds).
#
# With RELAY=1 the control plane feeds only the first agent, a relay, which feeds the others:
# reported then are the control plane's CPU per changeset for the whole fleet and the relay's
# CPU per changeset per agent it feeds.
#
#   [RELAY=1] loadtest/scripts/fanout-bench.sh [AGENTS] [RATE] [SECONDS] [WORKDIR]
#   (defaults: 50, 500, 10, /tmp/fanout-bench)
set -euo pipefail
agents=${1:-50}
rate=${2:-500}
seconds=${3:-10}
work=${4:-/tmp/fanout-bench}
relay=${RELAY:-0}
root=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$root" && cargo build --release --locked -q -p control-plane -p update-agent -p loadtest)
bin=$root/target/release
rm -rf "$work" && mkdir -p "$work" && cd "$work"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
. "$root/loadtest/scripts/registry.sh"
registry 1955 9955 4955
"$bin/control-plane" -c cp.toml serve 2>cp.log &
pids+=($!)
cp_pid=$!
sleep 0.5
metric() { curl -s 127.0.0.1:9955/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
cpu() { awk '{ print $14 + $15 }' "/proc/$cp_pid/stat"; }
load() {
  "$bin/loadtest" propagation --server 127.0.0.1:1955 --ca keys/srrp.crt --prefix "$1" \
    --rate "$rate" --seconds "$seconds" | sed -n 1p
}
# Verify every registrar's password once (Argon2), so the measured runs see the steady state.
"$bin/loadtest" srrp --server 127.0.0.1:1955 --ca keys/srrp.crt --prefix w- --seconds 1 >/dev/null
run() {
  local changesets0 cpu0
  changesets0=$(metric control_plane_changesets_total); cpu0=$(cpu)
  load "$1" >&2
  wait_synced
  echo "$(( $(cpu) - cpu0 )) $(( $(metric control_plane_changesets_total) - changesets0 ))"
}
synced() {
  local newest=$1
  if [ "$relay" = 1 ]; then
    [ "$(curl -s 127.0.0.1:9957/metrics | grep -c "^update_agent_downstream_serial.* $newest\$")" -ge $((agents - 1)) ] &&
      [ "$(curl -s 127.0.0.1:9955/metrics | grep -c "^control_plane_satellite_serial.* $newest\$")" -ge 1 ]
  else
    [ "$(curl -s 127.0.0.1:9955/metrics | grep -c "^control_plane_satellite_serial.* $newest\$")" -ge "$agents" ]
  fi
}
wait_synced() {
  [ "$started" = 0 ] && return
  local newest
  newest=$(metric 'control_plane_journal_serial{zone="tld"}')
  for _ in $(seq 1 600); do
    synced "$newest" && return
    sleep 0.1
  done
  echo "not every agent reached serial $newest" >&2
}
started=0
read -r base_cpu base_changesets < <(run none-)
for i in $(seq 1 "$agents"); do
  mkdir "a$i"
  "$bin/update-agent" keygen --dir "a$i" --name node >/dev/null
  upstream=127.0.0.1:4955 upstream_key=$(cat keys/tunnel.pub)
  if [ "$relay" = 1 ] && [ "$i" -gt 1 ]; then
    upstream=127.0.0.1:4956 upstream_key=$(cat a1/node.pub)
    printf '[[relay.downstream]]\nid = "a%s"\nkey = "%s"\n' "$i" "$(cat "a$i/node.pub")" >> a1/relay.toml
  else
    cp satellite add "a$i" "a$i/node.pub"
  fi
  cat > "a$i/agent.toml" <<TOML
id = "a$i"
upstream = "$upstream"
upstream_key = "$upstream_key"
signing_keys = ["$(cat keys/signing.pub)"]
[[zone]]
origin = "tld"
directory = "zones/tld"
TOML
done
if [ "$relay" = 1 ]; then
  { echo 'metrics_listen = "127.0.0.1:9957"'; cat a1/agent.toml
    printf '[relay]\nlisten = "127.0.0.1:4956"\n'; cat a1/relay.toml; } > a1/relay-agent.toml
  mv a1/relay-agent.toml a1/agent.toml
fi
sleep 1.5
for i in $(seq 1 "$agents"); do
  (cd "a$i" && exec "$bin/update-agent" -c agent.toml 2>agent.log) & pids+=($!)
  [ "$i" = 1 ] && relay_pid=$!
done
started=1
wait_synced
relay_cpu0=$(awk '{ print $14 + $15 }' "/proc/$relay_pid/stat")
read -r fan_cpu fan_changesets < <(run fan-)
relay_cpu=$(( $(awk '{ print $14 + $15 }' "/proc/$relay_pid/stat") - relay_cpu0 ))
if [ "$relay" = 1 ]; then
  echo "## Fan-out through a relay: 1 relay fed by the control plane, $((agents - 1)) agents fed by the relay (no servers), $rate creates/s offered for ${seconds}s"
else
  echo "## Fan-out: $agents satellites (update-agent, no servers), $rate creates/s offered for ${seconds}s"
fi
echo
echo "control plane CPU: ${base_cpu}0 ms for $base_changesets changesets with no satellite, ${fan_cpu}0 ms for $fan_changesets with $agents"
# Group commit packs more creates into a changeset when the machine is busier, so the CPU per
# create offered (the same count in both runs) is the fairer comparison.
awk -v b="$base_cpu" -v f="$fan_cpu" -v n="$((rate * seconds))" \
  'BEGIN { printf "control plane CPU per create offered: %.0f µs with no satellite, %.0f µs with them\n", b * 10000 / n, f * 10000 / n }'
awk -v b="$base_cpu" -v bc="$base_changesets" -v f="$fan_cpu" -v fc="$fan_changesets" -v n="$agents" \
  'BEGIN { printf "push cost: %.1f µs of control-plane CPU per changeset for all %d satellites, %.1f µs per satellite\n", ((f / fc) - (b / bc)) * 10000, n, ((f / fc) - (b / bc)) * 10000 / n }'
if [ "$relay" = 1 ]; then
  awk -v r="$relay_cpu" -v fc="$fan_changesets" -v n="$((agents - 1))" \
    'BEGIN { printf "relay CPU (applying, and feeding %d agents): %.1f µs per changeset, %.1f µs per changeset per agent fed\n", n, r * 10000 / fc, r * 10000 / fc / n }'
fi
curl -s 127.0.0.1:9955/metrics | awk '
  /^control_plane_push_ack_seconds_bucket/ { split($1, a, "\""); le[++n] = a[2]; c[n] = $2 }
  /^control_plane_push_ack_seconds_count/ { total = $2 }
  END {
    for (q = 1; q <= 3; q++) {
      target = (q == 1 ? 0.5 : q == 2 ? 0.99 : 1.0) * total
      for (i = 1; i <= n; i++) if (c[i] >= target) { bound[q] = le[i]; break }
    }
    printf "commit → acknowledged, over every satellite (%d acknowledgements): p50 ≤ %s s, p99 ≤ %s s, max ≤ %s s (histogram bucket bounds)\n", total, bound[1], bound[2], bound[3]
  }'
