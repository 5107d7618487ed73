#!/usr/bin/env bash
# Turning DNSSEC on over a registry of BASE registrations while registrars write: the
# registry of dnssec-write-bench.sh (zone .tld, 5% with DS, 10% with glue) served over SRRP,
# `loadtest srrp` creating as fast as CONN connections can for 30 s alone, then again for 60 s
# while `control-plane dnssec on tld` runs. The registrars' latency (max: the longest pause a
# write saw) and creates/s side by side; `dnssec on`'s last line gives each step's time.
# Usage: dnssec-on-bench.sh DIR [BASE=1000000] [CONN=4]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$1 base=${2:-1000000} conn=${3:-4}
(cd "$root" && cargo build --release --locked -q -p control-plane -p loadtest)
cp=$root/target/release/control-plane lt=$root/target/release/loadtest
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
cat > cp.toml <<CONF
database = "registry.db"
signing_key = "keys/signing.key"
metrics_listen = "127.0.0.1:19102"
[srrp]
listen = ["127.0.0.1:19700"]
certificate = "keys/srrp.crt"
key = "keys/srrp.key"
[dnssec]
keys = "keys/dnssec"
CONF
"$cp" -c cp.toml keygen --dir keys >/dev/null
"$cp" -c cp.toml zone add tld --ns a.nic.tld=192.0.2.53 --ns b.nic.example >/dev/null
for id in 1001 1002 1003 1004 1005; do
  "$cp" -c cp.toml registrar add --id $id --iana-id $id --name "Registrar $id" --password "pw-$id" >/dev/null
  "$cp" -c cp.toml registrar credit $id 100000000000 >/dev/null
done
"$root/loadtest/scripts/tld-lines.sh" 0 "$base" > base.txt
echo "== importing $base registrations"
"$cp" -c cp.toml import base.txt >/dev/null
"$cp" -c cp.toml dnssec keygen tld --ksk >/dev/null
"$cp" -c cp.toml dnssec keygen tld >/dev/null
setsid "$cp" -c cp.toml serve > serve.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 4
srrp() { "$lt" srrp --server 127.0.0.1:19700 --ca keys/srrp.crt --first-registrar 1001 --registrars 5 --connections "$conn" "$@" 2>&1 | tail -1; }
echo "== SRRP creates alone, 30 s"
srrp --seconds 30 --prefix alone
echo "== SRRP creates for 60 s, dnssec on starting 5 s in"
srrp --seconds 60 --prefix during > during.txt &
creates=$!
sleep 5
/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak" "$cp" -c cp.toml dnssec on tld 2>&1 | tail -2
wait $creates
cat during.txt
"$cp" -c cp.toml dnssec status tld > status.txt
head -1 status.txt
