#!/usr/bin/env bash
# Regenerates the seed corpora from the crate's test data with the zonefiles tool.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
cargo build -q --release --manifest-path "$root/Cargo.toml" -p zonefiles
z=$root/target/release/zonefiles
data=$root/zonefiles/testdata
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p corpus/{master_file,image_open,journal_open,changeset_decode,rdata_round_trip}
cp "$data/master/rich.zone" corpus/master_file/seed-rich
for f in valid glue_missing cname_and_other_data dname_children; do
  cp "$data/checks/$f.zone" "corpus/master_file/seed-$f"
done
"$z" compile --quiet "$data/checks/valid.zone" -o corpus/image_open/seed-valid >/dev/null
mkdir -p corpus/trusted_image_answer
cp corpus/image_open/seed-valid corpus/trusted_image_answer/seed-valid
"$z" compile --quiet "$data/master/rich.zone" -o corpus/trusted_image_answer/seed-rich >/dev/null
sed 's/ 1 7200/ 2 7200/; s/^www CNAME.*/www A 192.0.2.80/' "$data/checks/valid.zone" > "$tmp/next.zone"
"$z" compile --quiet "$tmp/next.zone" -o "$tmp/next.img" >/dev/null
"$z" init-journal corpus/image_open/seed-valid corpus/journal_open/seed-one >/dev/null
"$z" diff --summary --journal corpus/journal_open/seed-one corpus/image_open/seed-valid "$tmp/next.img" >/dev/null
# The journal header for `tld.` is 25 bytes and an entry header 8: the changeset follows.
tail -c +34 corpus/journal_open/seed-one > corpus/changeset_decode/seed-one
printf '\x00\x02\x03ns1\x03nic\x03tld\x00' > corpus/rdata_round_trip/seed-ns
printf '\x00\x40\x00\x01\x00\x00\x01\x00\x06\x02h2\x02h3' > corpus/rdata_round_trip/seed-svcb
printf '\x00\x2f\x01a\x03tld\x00\x00\x06\x40\x01\x00\x00\x00\x03' > corpus/rdata_round_trip/seed-nsec
mkdir -p corpus/control_request
# AXFR, IXFR from serial 1 (SOA in authority), NOTIFY, and an AXFR carrying a TSIG record.
printf '\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03tld\x00\x00\xfc\x00\x01' > corpus/control_request/seed-axfr
printf '\x12\x35\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x03tld\x00\x00\xfb\x00\x01\xc0\x0c\x00\x06\x00\x01\x00\x00\x00\x00\x00\x16\x00\x00\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05' > corpus/control_request/seed-ixfr
printf '\x12\x36\x24\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03tld\x00\x00\x06\x00\x01' > corpus/control_request/seed-notify
printf '\x12\x37\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03tld\x00\x00\xfc\x00\x01\x03xfr\x03tld\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x3d\x0bhmac-sha256\x00\x00\x00\x65\x5c\x69\x00\x01\x2c\x00\x20AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\x12\x37\x00\x00\x00\x00' > corpus/control_request/seed-signed
mkdir -p corpus/whois_query
printf 'domain example.tld\r\n' > corpus/whois_query/seed-domain
printf 'mack.\r\n' > corpus/whois_query/seed-prefix
mkdir -p corpus/whois_update
printf 'Domain Name: example.tld\nRegistry Domain ID: D1-TLD\nRegistrar IANA ID: 9999\nUpdated Date: 2026-11-21T00:00:00Z\nCreation Date: 2026-11-21T00:00:00Z\nRegistry Expiry Date: 2027-11-21T00:00:00Z\nDomain Status: ok https://icann.org/epp#ok\nName Server: ns1.example.tld\n' > corpus/whois_update/seed-domain
printf 'nameserver 2001:db8::1\r\n' > corpus/whois_query/seed-ns
