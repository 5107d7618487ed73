#!/usr/bin/env bash
# The registrar write benchmark, SRRP and EPP side by side: the control plane with a fresh
# registry (one zone, 50 registrars), and `loadtest srrp` sending durable creates from 50
# connections — over SRRP a new TLS connection per request, as SRRP has it, resuming the
# session (TLS 1.3, then TLS 1.2, whose resumption skips the key exchange); over EPP one
# persistent session per connection (`--epp`). Server and clients share the machine's two
# cores. Reports confirmed creates/s, latency, the control plane's CPU per create (from /proc),
# and from its metrics the commits (one fsync each) per second and commands per commit.
#
#   loadtest/scripts/srrp-bench.sh [SECONDS] [CONNECTIONS] [WORKDIR]
set -euo pipefail
seconds=${1:-10}
connections=${2:-50}
work=${3:-/tmp/srrp-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$root" && cargo build --release --locked -q -p control-plane -p loadtest)
bin=$root/target/release
rm -rf "$work" && mkdir -p "$work" && cd "$work"
. "$root/loadtest/scripts/registry.sh"
registry 1755 9755 '' 1756
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT
metric() { curl -s 127.0.0.1:9755/metrics | awk -v m="$1" '$1 == m { print $2 }'; }
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
echo "## Durable creates: $connections connections over 50 registrars, ${seconds}s per run (+1s warm-up)"
echo
echo "| protocol | confirmed creates/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/create | commits/s | commands/commit |"
echo "|---|---|---|---|---|---|---|---|"
for variant in 1.3 1.2 epp; do
  "$bin/control-plane" -c cp.toml serve 2>>serve.log &
  pid=$!
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/1755) 2>/dev/null && break; sleep 0.1; done
  # Verify every registrar's password once, so the measured runs see the steady state.
  "$bin/loadtest" srrp --server 127.0.0.1:1755 --ca keys/srrp.crt --prefix "w${variant/./}-" --seconds 1 >/dev/null
  flag=(--server 127.0.0.1:1755)
  [ "$variant" = 1.2 ] && flag+=(--tls12)
  [ "$variant" = epp ] && flag=(--server 127.0.0.1:1756 --epp)
  commits0=$(metric control_plane_commits_total); commands0=$(metric control_plane_commands_total); cpu0=$(cpu)
  start=$(date +%s.%N)
  result=$("$bin/loadtest" srrp --ca keys/srrp.crt --prefix "m${variant/./}-" \
    --connections "$connections" --seconds "$seconds" "${flag[@]}")
  end=$(date +%s.%N)
  commits=$(( $(metric control_plane_commits_total) - commits0 ))
  commands=$(( $(metric control_plane_commands_total) - commands0 ))
  ticks=$(( $(cpu) - cpu0 ))
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  echo "$result" | awk -v v="$( [ "$variant" = epp ] && echo "EPP (sessions)" || echo "SRRP, TLS $variant resumption")" -v c="$commits" -v n="$commands" -v t="$ticks" -v s="$start" -v e="$end" '{
    rate = $1; split($0, a, "p50 "); split(a[2], b, " ")
    p50 = b[1] / 1000; p99 = b[3] / 1000; p999 = b[5] / 1000
    printf "| %s | %s | %.1f | %.1f | %.1f | %.0f | %.0f | %.1f |\n", v, rate, p50, p99, p999, t * 10000 / n, c / (e - s), n / c
  }'
done
echo
"$bin/control-plane" -c cp.toml audit | tail -1
