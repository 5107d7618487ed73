#!/usr/bin/env bash
# DNSSEC's cost on the registry's write path. A registry of BASE registrations in zone .tld
# (5% with DS, 10% with glue, name servers drawn from 5,000 providers) is imported unsigned and
# copied. One copy is signed (`control-plane dnssec on tld`, timed: the initial signing through
# the control plane, NSEC3 with opt-out), then the next N registrations are imported into each
# copy in turn, REPEAT times, 16 to a transaction (`import --batch 16`, one fsync each), timed:
# creates per second and CPU per create, signed and unsigned, in one run.
# Usage: dnssec-write-bench.sh DIR [BASE=1000000] [N=50000] [REPEAT=3]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1 base=${2:-1000000} n=${3:-50000} repeat=${4:-3}
(cd "$root" && cargo build --release --locked -q -p control-plane)
cp=$root/target/release/control-plane
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
lines() { "$root/loadtest/scripts/tld-lines.sh" "$@"; } # first count
mkdir unsigned && cd unsigned
printf 'database = "registry.sqlite"\nsigning_key = "keys/signing.key"\n[dnssec]\nkeys = "keys/dnssec"\n' > cp.toml
"$cp" -c cp.toml keygen --dir keys >/dev/null
"$cp" -c cp.toml zone add tld --ns a.nic.tld=192.0.2.53 --ns b.nic.example >/dev/null
for id in 1001 1002 1003 1004 1005; do
  "$cp" -c cp.toml registrar add --id $id --iana-id $id --name "Registrar $id" --password "pw-$id" >/dev/null
  "$cp" -c cp.toml registrar credit $id 100000000000 >/dev/null
done
lines 0 "$base" > base.txt
echo "== importing $base registrations (unsigned)"
/usr/bin/time -f "%e s wall, %U s user, %S s sys" "$cp" -c cp.toml import base.txt 2>&1 | tail -1
cd .. && cp -r unsigned signed && cd signed
"$cp" -c cp.toml dnssec keygen tld --ksk >/dev/null
"$cp" -c cp.toml dnssec keygen tld >/dev/null
echo "== initial signing of $base registrations (control-plane dnssec on tld)"
/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak" "$cp" -c cp.toml dnssec on tld 2>&1 | tail -2
"$cp" -c cp.toml dnssec status tld | sed -n 1p
cd ..
for r in $(seq 1 "$repeat"); do
  first=$((base + (r - 1) * n))
  lines "$first" "$n" > next.txt
  for kind in unsigned signed; do
    cp next.txt "$kind/next-$r.txt"
    printf '%s run %d: ' "$kind" "$r"
    (cd "$kind" && /usr/bin/time -f "%e %U %S" "$cp" -c cp.toml import --batch 16 "next-$r.txt" 2>&1 >/dev/null | tail -1) |
      awk -v n="$n" '{ printf "%.0f creates/s, %.1f µs CPU per create (%s s wall)\n", n / $1, ($2 + $3) * 1e6 / n, $1 }'
  done
done
echo "== audit of the signed registry"
(cd signed && "$cp" -c cp.toml audit | tail -1)
