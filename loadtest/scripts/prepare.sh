# Sourced by the benchmark scripts: builds the release binaries they name, sets $bin, enters
# $work, and leaves there a generated tld.zone with $delegations delegations of the shape
# $SHAPE (`loadtest gen-zone --shape`: providers, the default, or pairs). The zone (and
# whatever a script derives from it) is generated again only when the asked size or shape
# changes: what it was made for is kept in tld.zone.delegations.
#
#   prepare PACKAGE...        (uses $root, $work and $delegations; returns 0 when the zone is new)
prepare() {
  (cd "$root" && cargo build --release --locked -q "${@/#/--package=}")
  bin=$root/target/release
  mkdir -p "$work"
  cd "$work"
  local made="$delegations ${SHAPE:-providers}"
  if [ -f tld.zone ] && [ "$(cat tld.zone.delegations 2>/dev/null)" = "$made" ]; then
    return 1
  fi
  "$bin/loadtest" gen-zone -o tld.zone --delegations "$delegations" --shape "${SHAPE:-providers}" >/dev/null
  echo "$made" > tld.zone.delegations
}
