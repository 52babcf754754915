#!/usr/bin/env bash
# Fetches the Apache Kafka broker (KRaft, used by the test rig) from Maven Central once and
# caches its runtime jars outside the repo:
#   ${KAFKA_CACHE:-$HOME/.cache/gatehouse}/kafka-4.1.1/lib/*.jar
#   ${KAFKA_CACHE:-$HOME/.cache/gatehouse}/kafka-4.1.1/log4j2.xml   (quiet, to a file)
# Does nothing when the jars are already there. Needs Maven and Java 17+.
# A cold fetch is ~46 jars, ~43 MB, ~5-40 s (network); Maven's own repo goes to
# ${KAFKA_CACHE:-$HOME/.cache/gatehouse}/m2, never the repo tree or ~/.m2.
#
# Why Maven and not the release tarball: Maven Central is reachable from CI, the
# Apache download mirrors are not.
set -euo pipefail

VERSION=4.1.1
CACHE_ROOT="${KAFKA_CACHE:-$HOME/.cache/gatehouse}"
CACHE_DIR="$CACHE_ROOT/kafka-$VERSION"
LIB="$CACHE_DIR/lib"
MARKER="$CACHE_DIR/.complete"
M2_REPO="$CACHE_ROOT/m2"
POM="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka-pom.xml"
DEPENDENCY_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

log() { printf '[fetch-kafka] %s\n' "$*" >&2; }

mkdir -p "$CACHE_DIR"

# The broker reads this with -Dlog4j2.configurationFile and -Dkafka.logs.dir=<its temp dir>.
# Rewritten when it changes, so a new version of this script takes effect without a refetch.
write_log_config() {
  local tmp="$CACHE_DIR/log4j2.xml.$$"
  cat >"$tmp" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- Test rig broker: warnings and errors only, to server.log in the broker's temp dir. -->
<Configuration status="warn">
  <Appenders>
    <File name="server" fileName="${sys:kafka.logs.dir}/server.log">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="warn">
      <AppenderRef ref="server"/>
    </Root>
    <!-- One line once the broker is up, so a log quoted after a failure shows how far it got. -->
    <Logger name="kafka.server.KafkaRaftServer" level="info"/>
  </Loggers>
</Configuration>
XML
  if cmp -s "$tmp" "$CACHE_DIR/log4j2.xml"; then rm -f "$tmp"; else mv -f "$tmp" "$CACHE_DIR/log4j2.xml"; fi
}

fetched() { [ -f "$MARKER" ] && [ -d "$LIB" ]; }

if fetched; then
  write_log_config
  log "cached: $LIB"
  exit 0
fi

missing=()
command -v java >/dev/null || missing+=(java)
command -v mvn >/dev/null || missing+=(mvn)
if [ ${#missing[@]} -gt 0 ]; then
  log "not found on PATH: ${missing[*]}. Install them (Debian/Ubuntu: apt-get install -y"
  log "default-jre-headless maven), or point the tests at an existing broker with"
  log "KAFKA_BROKERS=host:9092."
  exit 1
fi

# One fetch at a time (e.g. CI and a Jest run starting together); the second waits,
# then finds the jars.
if command -v flock >/dev/null; then
  exec 9>"$CACHE_DIR/.fetch.lock"
  if ! flock -n 9; then
    log "another fetch is running; waiting for it..."
    flock 9
  fi
  if fetched; then
    write_log_config
    log "cached: $LIB"
    exit 0
  fi
fi

started=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/gatehouse-kafka-fetch-XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Maven writes target/ next to the pom it runs: keep that out of the repo too.
cp "$POM" "$work/pom.xml"

log "fetching org.apache.kafka:kafka_2.13:$VERSION and its runtime dependencies (cold: ~5-40 s)"
# Debian's Maven 3.8 prints bare colour resets even in batch mode: strip them.
(cd "$work" && mvn -B --no-transfer-progress -q \
  -Dmaven.repo.local="$M2_REPO" \
  "$DEPENDENCY_PLUGIN:copy-dependencies" \
  -DincludeScope=runtime \
  -DoutputDirectory="$work/lib" 2>&1) | sed 's/\x1b\[0m//g' >&2 || {
  log "mvn dependency:copy-dependencies failed (its output is above)"
  exit 1
}

jars=$(find "$work/lib" -maxdepth 1 -name '*.jar' | wc -l)
if ! compgen -G "$work/lib/kafka_2.13-$VERSION.jar" >/dev/null; then
  log "Maven finished, but kafka_2.13-$VERSION.jar is not among the $jars jars it copied"
  exit 1
fi

# Into place only once complete, so a half-copied lib/ is never taken as the cache.
rm -rf "$LIB"
mv "$work/lib" "$LIB"
write_log_config
printf 'kafka_2.13 %s, %s jars\n' "$VERSION" "$jars" >"$MARKER"
log "fetched $jars jars ($(du -sh "$LIB" | cut -f1)) into $LIB in $((SECONDS - started)) s"
