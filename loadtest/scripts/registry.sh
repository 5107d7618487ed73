# Sourced by the write benchmarks: a fresh registry in the current folder — cp.toml with SRRP on
# 127.0.0.1:$1, metrics on 127.0.0.1:$2, when $3 is given (and not empty) the push service on
# 127.0.0.1:$3, and when $4 is given EPP on 127.0.0.1:$4 — with keys, zone tld, and registrars 1000–1049 (password pw-<id>) with credit.
# Defines cp, which runs an operator command quietly. Needs $bin (the release binaries).
registry() {
  cat > cp.toml <<TOML
database = "registry.db"
signing_key = "keys/signing.key"
recovery_key = "keys/recovery.pub"
metrics_listen = "127.0.0.1:$2"
[srrp]
listen = ["127.0.0.1:$1"]
certificate = "keys/srrp.crt"
key = "keys/srrp.key"
TOML
  if [ -n "${3:-}" ]; then
    printf '[push]\nlisten = "127.0.0.1:%s"\nkey = "keys/tunnel.key"\n' "$3" >> cp.toml
  fi
  if [ -n "${4:-}" ]; then
    printf '[epp]\nlisten = ["127.0.0.1:%s"]\n' "$4" >> cp.toml
  fi
  cp keygen --dir keys
  cp zone add tld --ns a.nic.tld=192.0.2.1 --ns b.nic.tld=192.0.2.2
  for i in $(seq 1000 1049); do
    cp registrar add --id "$i" --iana-id "$i" --name "Registrar $i" --password "pw-$i"
    cp registrar credit "$i" 100000000000
  done
}
cp() { "$bin/control-plane" -c cp.toml --operator bench "$@" >/dev/null; }
