#!/usr/bin/env bash
# Whole-zone DNSSEC signing side by side: `zonefiles sign`, BIND's `dnssec-signzone` (two
# threads), Knot's `kzonesign` (the keys imported with `keymgr import-bind`) and
# `ldns-signzone`, on one generated zone with the same keys (ECDSA P-256 KSK + ZSK, NSEC3 with
# opt-out, no salt, no extra iteration), REPS times each; then BIND's `dnssec-verify` checks
# our output. Prints wall time, CPU and peak memory of each run.
# Usage: sign-bench.sh TARGET_DIR WORK_DIR [DELEGATIONS=1000000] [SHAPE=providers] [REPS=3]
# SIGNERS picks the signers (default "zonefiles bind knot ldns"; at ten million leave out ldns,
# which holds about 2.4 GB per million delegations).
set -euo pipefail
bin=$1 dir=$2 n=${3:-1000000} shape=${4:-providers} reps=${5:-3}
signers=${SIGNERS:-zonefiles bind knot ldns}
runs() { [[ " $signers " == *" $1 "* ]]; }
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
"$bin/loadtest" gen-zone -o tld.zone --delegations "$n" --shape "$shape" >/dev/null
echo "zone: $n delegations ($shape), $(grep -cP '\tDS\t' tld.zone) DS records"
ksk=$("$bin/zonefiles" keygen tld --ksk) zsk=$("$bin/zonefiles" keygen tld)
mkdir -p kasp knot
cat > knot.conf <<CONF
database:
    storage: $PWD
    kasp-db: $PWD/kasp
policy:
  - id: ours
    manual: on
    nsec3: on
    nsec3-opt-out: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
zone:
  - domain: tld
    file: $PWD/tld.zone
    dnssec-signing: on
    dnssec-policy: ours
CONF
for key in "$ksk" "$zsk"; do keymgr -c knot.conf tld import-bind "$key.private" >/dev/null; done
measure() { /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB peak" "$@" 2>&1 >/dev/null | tail -1; }
for r in $(seq "$reps"); do
  if runs zonefiles; then
    echo "zonefiles sign:  $(measure "$bin/zonefiles" sign tld.zone --key "$ksk.key" --key "$zsk.key" -o ours.signed)"
  fi
  if runs bind; then
    echo "dnssec-signzone: $(measure dnssec-signzone -S -K . -3 - -H 0 -A -n 2 -o tld -f bind.signed tld.zone)"
  fi
  if runs knot; then echo "kzonesign:       $(measure kzonesign -c knot.conf -o knot tld)"; fi
  if runs ldns; then
    echo "ldns-signzone:   $(measure ldns-signzone -n -p -o tld -f ldns.signed tld.zone "$ksk" "$zsk")"
  fi
done
if runs zonefiles; then
  dnssec-verify -q -o tld ours.signed && echo "dnssec-verify: ours.signed verified"
fi
