#!/usr/bin/env bash
# The write path's cost measured by an import: a new registry in DIR (zone .name, five
# registrars with credit), then `control-plane import` of the first N lines of a sample file
# (`<registrar> CREATE DOMAIN …` lines, as constellation up's sample), timed.
# Usage: import-bench.sh CONTROL_PLANE_BINARY DIR SAMPLE_FILE [N=200000]
set -euo pipefail
cp=$1 dir=$2 sample=$3 n=${4:-200000}
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
printf 'database = "registry.sqlite"\nsigning_key = "keys/signing.key"\n' > cp.toml
"$cp" -c cp.toml keygen --dir keys >/dev/null
"$cp" -c cp.toml zone add name --level 3 --ns ns1.nic.name=192.0.2.53 --ns ns2.nic.example >/dev/null
for id in 1001 1002 1003 1004 1005; do
  "$cp" -c cp.toml registrar add --id $id --iana-id $id --name "Registrar $id" --password "pw-$id" >/dev/null
  "$cp" -c cp.toml registrar credit $id 100000000000 >/dev/null
done
head -n "$n" "$sample" > lines.txt
/usr/bin/time -f "%e s wall, %U s user, %S s sys" "$cp" -c cp.toml import lines.txt 2>&1 | tail -2
echo "database: $(stat -c %s registry.sqlite) bytes"
