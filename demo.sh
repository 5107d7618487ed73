#!/usr/bin/env bash
# Runs a satellite's DNS and WHOIS servers on loopback with a generated TLD zone, and a control
# plane (the registry, with SRRP for registrars), and prints the dig, whois and SRRP commands to
# try. On the way it shows the zone pipeline: check, compile, look-ups in the compiled image, a
# new version's diff into a journal, and compaction; then edge-dns follows a zone directory,
# serves AXFR/IXFR with TSIG, and answers a change the moment it is appended. The control plane
# runs a .name-style zone and pushes every change, as a signed changeset over QUIC, to a second
# satellite (update-agent + edge-dns + edge-whois): a registration over SRRP is answered there
# by dig and whois a moment later. Ctrl-C stops the servers.
#
#   ./demo.sh [DELEGATIONS] [PORT]      (defaults: 100000 delegations, port 5300 (5353 is mDNS); work in ./demo)
set -euo pipefail
cd "$(dirname "$0")"
delegations=${1:-100000}
port=${2:-5300}
whois_port=4343
srrp_port=1700
echo "== building (the first build on a fresh machine takes several minutes)"
cargo build --release --locked -p zonefiles -p loadtest -p edge-dns -p edge-whois -p control-plane -p update-agent
bin=$PWD/target/release
mkdir -p demo
cd demo

echo "== generating a TLD zone with $delegations delegations"
"$bin/loadtest" gen-zone -o tld.zone --delegations "$delegations"
echo "== checking it (like named-checkzone) and compiling it to a memory-mapped image"
"$bin/zonefiles" check tld.zone
"$bin/zonefiles" compile tld.zone -o tld.img
"$bin/zonefiles" verify tld.img

domain=$(awk '$4 == "NS" && $1 != "tld." && $1 !~ /^dnsprov/ { print $1; exit }' tld.zone)
glued=$(awk '$4 == "NS" && $1 !~ /^dnsprov/ && $5 ~ ("^ns1\\." $1) { print $1; exit }' tld.zone)
signed=$(awk '$4 == "DS" { print $1; exit }' tld.zone)

echo "== a new version with 100 changed delegations: diff, journal, compaction"
"$bin/loadtest" gen-zone -o tld2.zone --delegations "$delegations" --serial 2026112102 --changed 100
"$bin/zonefiles" compile --quiet tld2.zone -o tld2.img
"$bin/zonefiles" init-journal tld.img tld.journal
"$bin/zonefiles" diff --summary --journal tld.journal tld.img tld2.img
"$bin/zonefiles" compact tld.img tld.journal -o tld-compacted.img
cmp tld2.img tld-compacted.img && echo "the compacted image is byte-identical to the image compiled from the new zone"

echo "== a satellite's zone directory (current image + journal) for edge-dns to follow"
rm -rf tld-dir
"$bin/zonefiles" dir init tld-dir tld.zone
"$bin/loadtest" gen-zone -o tld3.zone --delegations "$delegations" --serial 2026112103 --changed 300 >/dev/null
secret=$(head -c 32 /dev/urandom | base64)
cat > edge-dns.toml <<CONF
listen = ["127.0.0.1:$port"]
metrics_listen = "127.0.0.1:9153"

[[key]]
name = "xfr.tld."
algorithm = "hmac-sha256"
secret = "$secret"

[[zone]]
directory = "tld-dir"
allow_transfer = [ { key = "xfr.tld.", from = ["127.0.0.0/8", "::1"] } ]
CONF

echo "== the WHOIS tree for the same domains (one file per domain, host and registrar)"
rm -rf whois
"$bin/loadtest" gen-whois tld.zone --tree whois

echo "== starting edge-dns on 127.0.0.1:$port (UDP and TCP), following demo/tld-dir"
"$bin/edge-dns" --config edge-dns.toml &
server=$!
echo "== starting edge-whois on 127.0.0.1:$whois_port"
"$bin/edge-whois" --tree whois --tld tld --listen "127.0.0.1:$whois_port" \
  --update-listen "127.0.0.1:$((whois_port + 1))" --metrics-listen 127.0.0.1:9154 &
whois_server=$!
registry_server=
trap 'kill $server $whois_server $registry_server 2>/dev/null' EXIT

echo "== a control plane: keys, the registry database, zone name (registrations at the third"
echo "   level, as john.smith.name), registrar 1001 with credit, SRRP on 127.0.0.1:$srrp_port"
rm -rf registry
mkdir registry
cat > registry/control-plane.toml <<CONF
database = "registry.db"
signing_key = "keys/signing.key"
metrics_listen = "127.0.0.1:9155"
[srrp]
listen = ["127.0.0.1:$srrp_port"]
certificate = "keys/srrp.crt"
key = "keys/srrp.key"
[push]
listen = "127.0.0.1:4433"
key = "keys/tunnel.key"
CONF
cp=("$bin/control-plane" -c registry/control-plane.toml --operator demo)
"${cp[@]}" keygen --dir registry/keys
"${cp[@]}" registrar add --id 1001 --iana-id 1001 --name "Demo Registrar" --password demo-pass \
  --url https://registrar.example --abuse-email abuse@registrar.example
"${cp[@]}" registrar credit 1001 100000
"${cp[@]}" zone add name --level 3 --ns ns1.nic.name=192.0.2.53 --ns ns2.nic.example
"${cp[@]}" block add john.doe
"${cp[@]}" serve 2>registry/control-plane.log &
registry_server=$!
trap 'kill $server $whois_server $registry_server 2>/dev/null' EXIT

echo "== a satellite of the control plane for .name: update-agent (dials the push service over"
echo "   QUIC, pinned keys), edge-dns on 127.0.0.1:$((port + 1)), edge-whois on 127.0.0.1:$((whois_port + 2))"
rm -rf satellite
mkdir satellite
"$bin/update-agent" keygen --dir satellite --name node >/dev/null
"${cp[@]}" satellite add demo-sat satellite/node.pub
cat > satellite/update-agent.toml <<CONF
id = "demo-sat"
upstream = "127.0.0.1:4433"
upstream_key = "$(cat registry/keys/tunnel.pub)"
signing_keys = ["$(cat registry/keys/signing.pub)"]
metrics_listen = "127.0.0.1:9156"
[[zone]]
origin = "name"
directory = "zones/name"
CONF
cat > satellite/edge-dns.toml <<CONF
listen = ["127.0.0.1:$((port + 1))"]
metrics_listen = "127.0.0.1:9163"
[[zone]]
directory = "zones/name"
CONF
(cd satellite && exec "$bin/update-agent" -c update-agent.toml 2>update-agent.log) &
agent=$!
trap 'kill $server $whois_server $registry_server $agent $sat_dns $sat_whois 2>/dev/null' EXIT
for _ in $(seq 1 100); do [ -f satellite/zones/name/CURRENT ] && break; sleep 0.1; done
(cd satellite && exec "$bin/edge-dns" --config edge-dns.toml 2>edge-dns.log) &
sat_dns=$!
(cd satellite && exec "$bin/edge-whois" --tree whois --tld name --listen "127.0.0.1:$((whois_port + 2))" \
  --metrics-listen 127.0.0.1:9164 2>edge-whois.log) &
sat_whois=$!
trap 'kill $server $whois_server $registry_server $agent $sat_dns $sat_whois 2>/dev/null' EXIT
sleep 0.5

key="-y hmac-sha256:xfr.tld.:$secret"
try() { printf '  %-72s # %s\n' "$1" "$2"; }
echo
echo "edge-dns is answering for tld. on 127.0.0.1 port $port, edge-whois on port $whois_port. Try:"
try "dig @127.0.0.1 -p $port tld. SOA +norec" "the apex"
try "dig @127.0.0.1 -p $port www.$domain A +norec" "a referral"
try "dig @127.0.0.1 -p $port www.$glued A +norec" "a referral with glue"
try "dig @127.0.0.1 -p $port $signed DS +norec" "DS from the parent side"
try "dig @127.0.0.1 -p $port no-such-name.tld. A +norec" "NXDOMAIN with the SOA"
try "dig @127.0.0.1 -p $port tld. NS +tcp +norec" "over TCP"
try "dig @127.0.0.1 -p $port id.server CH TXT +nsid" "which server answered"
try "dig @127.0.0.1 -p $port tld. AXFR $key" "zone transfer, TSIG-signed"
try "dig @127.0.0.1 -p $port tld. AXFR" "refused: no key"
try "$bin/zonefiles dir update demo/tld-dir demo/tld3.zone" "append a changeset: served at once"
try "dig @127.0.0.1 -p $port tld. IXFR=2026112101 $key" "then the change as IXFR"
try "curl -s 127.0.0.1:9153/metrics | grep -E 'responses_total|transfers_total'" "Prometheus metrics"
try "$bin/zonefiles lookup demo/tld.img www.$domain" "the same, from the image"
try "whois -h 127.0.0.1 -p $whois_port ${domain%.}" "WHOIS for a domain"
try "whois -h 127.0.0.1 -p $whois_port ns1.${glued%.}" "a name server (host object)"
try "whois -h 127.0.0.1 -p $whois_port 'gri*'" "domains starting with gri"
try "whois -h 127.0.0.1 -p $whois_port no-such-name.tld" "a free domain"
try "whois -h 127.0.0.1 -p $whois_port 'registrar 1003'" "a registrar"
srrp="$bin/control-plane srrp --ca demo/registry/keys/srrp.crt --server 127.0.0.1:$srrp_port"
auth="registrar-id=1001 registrar-auth=demo-pass"
ops="$bin/control-plane -c demo/registry/control-plane.toml"
echo
echo "The control plane takes SRRP on 127.0.0.1:$srrp_port (TLS). Try:"
try "$srrp CREATE DOMAIN $auth domain-name=john.smith.name ns1-name=ns1.john.smith.name ns1-address=192.0.2.80 ns2-name=ns.example.net" "register"
try "$srrp QUERY DOMAIN $auth domain-name=john.smith.name" "with its history"
try "dig @127.0.0.1 -p $((port + 1)) www.john.smith.name A +norec" "on the satellite at once"
try "whois -h 127.0.0.1 -p $((whois_port + 2)) john.smith.name" "and in its WHOIS"
try "$srrp SET STATUS $auth domain-name=john.smith.name status=inactive" "out of the DNS"
try "$srrp CREATE DOMAIN $auth domain-name=john.doe.name" "409: blocked"
try "$srrp STATUS DEFAULTS $auth" "the registry's limits"
try "$ops journal" "the signed changesets"
try "$ops satellites" "each satellite's serial and lag"
try "$ops history john.smith.name" "who changed what"
try "$ops audit" "journal against database"
try "$ops export name -o demo/registry" "full zone image + WHOIS set"
echo "Ctrl-C stops the servers."
wait "$server"
