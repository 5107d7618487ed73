#!/usr/bin/env bash
# Prints COUNT registrations for zone .tld from number FIRST on, as `control-plane import` lines:
# registrars 1001-1005 in turn, name servers from 5,000 providers, one in ten with a name
# server of its own and glue, one in twenty with DS. Shared by the DNSSEC benchmark scripts.
# Usage: tld-lines.sh FIRST COUNT
awk -v first="$1" -v count="$2" 'BEGIN {
  for (n = first; n < first + count; n++) {
    r = 1001 + n % 5; p = n % 5000
    line = r " CREATE DOMAIN domain-name=d" n ".tld"
    if (n % 10 == 3) line = line " ns1-name=ns1.d" n ".tld ns1-address=192.0.2." (n % 250 + 1) " ns2-name=ns2.p" p ".example"
    else line = line " ns1-name=ns1.p" p ".example ns2-name=ns2.p" p ".example"
    if (n % 20 == 7) line = line sprintf(" ds=\"%d 13 2 %064X\"", n % 65536, n)
    print line
  } }'
