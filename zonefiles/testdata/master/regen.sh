#!/bin/sh
# Regenerates the goldens in this folder from real tools. Run from this folder.
set -eu
export LC_ALL=C
# BIND's canonical text of rich.zone: named-compilezone reads it with BIND's own parser.
named-compilezone -i none -k ignore -o rich.bind tld rich.zone
