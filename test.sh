#!/usr/bin/env bash
# Runs every test of the workspace. Installs the reference tools the tests compare against or talk to
# (BIND, Knot and NSD as servers and secondaries, their zone checkers, ldns utilities, dig and kdig,
# dnsperf for the benchmark report's test,
# openssl s_client for SRRP, promtool for the alert rules, systemd-analyze for the units and ip
# for network namespaces, curl for RDAP, gpg and xmllint for escrow deposits, SoftHSM2 for keys
# in an HSM, from Debian's
# packages) and ICANN's RDAP client and
# conformance checker (`rdap`, `rdap-test`, from crates.io: about 7 minutes to build once) and the
# Python EPP client epptools (from PyPI, in a virtual environment under target/) when they are
# missing. Run it as root: the
# multi-host test puts the control plane and satellites in network namespaces of their own.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
need=()
command -v named-checkzone >/dev/null || need+=(bind9-utils)
command -v kzonecheck >/dev/null || need+=(knot-dnssecutils)
command -v ldns-compare-zones >/dev/null || need+=(ldnsutils)
command -v nsd-checkzone >/dev/null || need+=(nsd)
command -v dig >/dev/null || need+=(bind9-dnsutils)
command -v kdig >/dev/null || need+=(knot-dnsutils)
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v named >/dev/null || need+=(bind9)
command -v knotd >/dev/null || need+=(knot)
command -v whois >/dev/null || need+=(whois)
command -v openssl >/dev/null || need+=(openssl)
command -v promtool >/dev/null || need+=(prometheus)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v ip >/dev/null || need+=(iproute2)
command -v curl >/dev/null || need+=(curl)
command -v softhsm2-util >/dev/null || need+=(softhsm2)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v gpg >/dev/null || need+=(gnupg)
command -v xmllint >/dev/null || need+=(libxml2-utils)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
# icann-rdap-cli asks for OpenSSL built from source; it is built against Debian's instead
# (OPENSSL_NO_VENDOR below), which takes minutes off its build: that needs the headers and
# pkg-config.
if ! command -v rdap-test >/dev/null; then
  dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
  command -v pkg-config >/dev/null || need+=(pkg-config)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test.sh: install ${need[*]} (Debian packages) for the tests against BIND, Knot and ldns" >&2
  fi
fi
# icann-rdap-cli 0.0.30 is the newest release that builds with rustc 1.95 (later ones need 1.97).
if ! command -v rdap-test >/dev/null; then
  echo "test.sh: building ICANN's rdap and rdap-test (icann-rdap-cli 0.0.30)" >&2
  OPENSSL_NO_VENDOR=1 cargo install --locked --quiet icann-rdap-cli@0.0.30
fi
# Python clients nobody here wrote: epptools 1.1.2 (standard library only) drives the EPP tests as
# a registrar's client would, and Selenium drives headless Chromium through the web page.
venv=target/test-python
if ! "$venv/bin/python" -c 'import epptools, selenium' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet epptools==1.1.2 selenium==4.45.0
fi
export TEST_PYTHON="$PWD/$venv/bin/python"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
# One closing line for the whole workspace (cargo prints one per test binary).
awk '/^test result:/ { passed += $4; failed += $6 } END { printf "tests: %d passed, %d failed\n", passed, failed }' "$log"
exit "$status"
