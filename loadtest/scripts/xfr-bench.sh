#!/usr/bin/env bash
# Zone transfer and live-update benchmark, side by side: a full AXFR of the same zone from
# edge-dns (following a zone directory), NSD and Knot, each pinned to core 0 with the client
# (`loadtest axfr`, which counts records without decoding them) on core 1; then the time from
# a changeset's append to edge-dns answering with it.
#
#   loadtest/scripts/xfr-bench.sh [DELEGATIONS] [WORKDIR]
#
# Needs nsd and knot (Debian packages).
set -euo pipefail
delegations=${1:-1000000}
work=${2:-/tmp/xfr-bench}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/loadtest/scripts/prepare.sh"
prepare zonefiles loadtest edge-dns || true
rm -rf tld-dir
"$bin/zonefiles" dir init tld-dir tld.zone >/dev/null

cat > edge-dns.toml <<CONF
listen = ["127.0.0.1:5403"]
metrics_listen = "127.0.0.1:9403"
workers = 1
[[zone]]
directory = "tld-dir"
allow_transfer = [ { from = ["127.0.0.1"] } ]
CONF
cat > nsd.conf <<CONF
server:
  ip-address: 127.0.0.1@5401
  port: 5401
  username: ""
  chroot: ""
  zonesdir: "$work"
  database: ""
  zonelistfile: "$work/zone.list"
  pidfile: "$work/nsd.pid"
  xfrdfile: "$work/xfrd.state"
  xfrdir: "$work"
  server-count: 1
  verbosity: 0
remote-control:
  control-enable: no
zone:
  name: tld
  zonefile: "$work/tld.zone"
  provide-xfr: 127.0.0.1 NOKEY
CONF
mkdir -p knot
cat > knot.conf <<CONF
server:
    listen: 127.0.0.1@5402
    rundir: "$work/knot"
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
acl:
  - id: local
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "$work"
    semantic-checks: off
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: tld
    file: "$work/tld.zone"
    acl: local
CONF

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
serve() { # port command...: start pinned to core 0, wait until it answers
  local port=$1
  shift
  taskset -c 0 "$@" >/dev/null 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 600); do
    dig @127.0.0.1 -p "$port" tld. SOA +short +time=1 +tries=1 2>/dev/null | grep -q . && return
    sleep 0.05
  done
}
axfr() { # port: three transfers, the median
  for _ in 1 2 3; do
    taskset -c 1 "$bin/loadtest" axfr --server "127.0.0.1:$1"
  done | sort -t: -k2 -n | sed -n 2p
}

echo "## Zone transfers and updates: $delegations delegations"
echo
serve 5403 "$bin/edge-dns" --config edge-dns.toml
echo "- edge-dns: $(axfr 5403)"
serve 5401 nsd -d -c nsd.conf
echo "- NSD: $(axfr 5401)"
serve 5402 knotd -c knot.conf
echo "- Knot: $(axfr 5402)"
echo
echo "Append to answer (edge-dns, changesets of growing size, overlay on the image):"
taskset -c 1 "$bin/loadtest" update-latency --dir tld-dir --server 127.0.0.1:5403 \
  --delegations "$delegations" --shape "${SHAPE:-providers}" --rounds 5 | sed 's/^/- /'
echo "- edge-dns resident memory after the updates: $(( $(ps -o rss= --pid "${pids[0]}") / 1024 )) MiB"
