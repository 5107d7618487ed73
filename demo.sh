#!/usr/bin/env bash
# Demonstrates the zone pipeline on loopback-free local files: generates a TLD-shaped zone,
# checks and compiles it, looks names up in the compiled image, then makes a new version,
# diffs it, logs the change in a journal and folds the journal into a new image.
#
#   ./demo.sh [DELEGATIONS]      (default 100000; the work folder is ./demo)
set -euo pipefail
cd "$(dirname "$0")"
delegations=${1:-100000}
cargo build --release --locked -q -p zonefiles -p loadtest
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
echo "== look-ups in the compiled image"
"$bin/zonefiles" lookup tld.img "www.$domain"
"$bin/zonefiles" lookup tld.img "$glued"
"$bin/zonefiles" lookup tld.img "no-such-domain.tld." || true

echo "== a new version with 100 changed delegations: diff, journal, compaction"
"$bin/loadtest" gen-zone -o tld2.zone --delegations "$delegations" --serial 2026112102 --changed 100
"$bin/zonefiles" compile --quiet tld2.zone -o tld2.img
"$bin/zonefiles" init-journal tld.img tld.journal
"$bin/zonefiles" diff --summary --journal tld.journal tld.img tld2.img
"$bin/zonefiles" compact tld.img tld.journal -o tld-compacted.img
cmp tld2.img tld-compacted.img && echo "the compacted image is byte-identical to the image compiled from the new zone"

cat <<TRY

Try these (the DNS and WHOIS servers come next; until then the compiled image answers here):
  $bin/zonefiles lookup demo/tld.img www.$domain
  $bin/zonefiles lookup demo/tld.img $glued --type NS
  $bin/zonefiles dump demo/tld.img | head
  named-checkzone tld demo/tld.zone        # BIND's checker on the same zone
  $bin/zonefiles --help
TRY
