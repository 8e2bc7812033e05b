#!/usr/bin/env bash
# A real OpenSearch cluster on this machine, no Docker: the official integ-test-zip
# distribution from Maven Central plus the analysis-common module (stemmers, cjk_bigram,
# asciifolding, stemmer_override), N nodes on 127.0.0.1, security off (loopback only).
#
#   cluster.sh fetch            download and verify once into the cache (outside the repo)
#   cluster.sh start N          start N nodes (fresh data), wait for the cluster, print URLs
#   cluster.sh stop             stop every node by its recorded PID
#   cluster.sh stop-node I      stop node I (1-based), keeping its data
#   cluster.sh start-node I     start node I again on its data, wait until it rejoined
#   cluster.sh urls             the HTTP URL of each node, one a line
#   cluster.sh status           cluster health and each node's PID
#
# Environment: XDG_CACHE_HOME (cache: $XDG_CACHE_HOME/govmail/opensearch),
# GOVMAIL_OPENSEARCH_RUN (data, logs, PIDs; default a folder under $TMPDIR),
# GOVMAIL_OPENSEARCH_WAIT (seconds to wait for the cluster, default 180).
set -euo pipefail

VERSION=2.19.6
MAVEN=https://repo1.maven.org/maven2/org/opensearch
ZIP_URL=$MAVEN/distribution/integ-test-zip/opensearch/$VERSION/opensearch-$VERSION.zip
COMMON_URL=$MAVEN/plugin/analysis-common/$VERSION/analysis-common-$VERSION.jar
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/govmail/opensearch
DIST=$CACHE/opensearch-$VERSION
RUN=${GOVMAIL_OPENSEARCH_RUN:-${TMPDIR:-/tmp}/govmail-opensearch-$(id -u)}
WAIT=${GOVMAIL_OPENSEARCH_WAIT:-180}
HTTP_BASE=9250
TRANSPORT_BASE=9350
CLUSTER_NAME=govmail-dev
# OpenSearch refuses to run as root; as root the nodes run as this unprivileged user.
RUN_USER=govmail-opensearch

die() { echo "cluster.sh: $*" >&2; exit 1; }

# Download one file and check it against the .sha1 Maven Central publishes beside it.
download() {
  local url=$1 out=$2
  curl -sSf --retry 3 -o "$out.part" "$url" || die "cannot download $url"
  local want got
  want=$(curl -sSf --retry 3 "$url.sha1" | cut -c1-40) || die "cannot download $url.sha1"
  got=$(sha1sum "$out.part" | cut -c1-40)
  [ "$want" = "$got" ] || die "checksum mismatch for $url ($got, expected $want)"
  mv "$out.part" "$out"
}

fetch() {
  [ -x "$DIST/bin/opensearch" ] && [ -f "$DIST/modules/analysis-common/plugin-descriptor.properties" ] \
    && return 0
  command -v java >/dev/null || die "java not found (OpenSearch $VERSION runs on Java 11-21)"
  mkdir -p "$CACHE"
  local zip=$CACHE/opensearch-$VERSION.zip jar=$CACHE/analysis-common-$VERSION.jar
  [ -f "$zip" ] || download "$ZIP_URL" "$zip"
  [ -f "$jar" ] || download "$COMMON_URL" "$jar"
  rm -rf "$DIST.part"
  mkdir -p "$DIST.part"
  unzip -q "$zip" -d "$DIST.part"
  mv "$DIST.part/opensearch-$VERSION" "$DIST.tmp"
  rmdir "$DIST.part"
  # The module's jar is published without the descriptor a distribution ships beside it;
  # this one says what the full distribution's says, minus the lang-painless extension
  # (painless is not in the integ-test distribution, and the analyzers do not need it).
  mkdir -p "$DIST.tmp/modules/analysis-common"
  cp "$jar" "$DIST.tmp/modules/analysis-common/"
  cat >"$DIST.tmp/modules/analysis-common/plugin-descriptor.properties" <<EOF
description=Adds "built in" analyzers to OpenSearch.
version=$VERSION
name=analysis-common
classname=org.opensearch.analysis.common.CommonAnalysisPlugin
java.version=11
opensearch.version=$VERSION
custom.foldername=
extended.plugins=
has.native.controller=false
EOF
  rm -rf "$DIST"
  mv "$DIST.tmp" "$DIST"
}

pidfile() { echo "$RUN/node-$1/pid"; }

alive() {
  local f
  f=$(pidfile "$1")
  [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

nodes() { cat "$RUN/nodes" 2>/dev/null || echo 0; }

url() { echo "http://127.0.0.1:$((HTTP_BASE + $1 - 1))"; }

# The distribution the nodes run from. As root it is copied into the run folder, owned by
# the unprivileged user, since the cache under /root is not readable by that user.
home() {
  if [ "$(id -u)" = 0 ]; then echo "$RUN/dist"; else echo "$DIST"; fi
}

as_node_user() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u "$RUN_USER" -- "$@"
  else
    "$@"
  fi
}

prepare_user() {
  [ "$(id -u)" = 0 ] || return 0
  id "$RUN_USER" >/dev/null 2>&1 \
    || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
         "$RUN_USER" || die "cannot create user $RUN_USER"
  if [ ! -x "$RUN/dist/bin/opensearch" ]; then
    cp -a "$DIST" "$RUN/dist"
  fi
  chown -R "$RUN_USER:" "$RUN"
}

configure() {
  local i=$1 n=$2 conf=$RUN/node-$1/config seeds="" masters="" j
  for j in $(seq 1 "$n"); do
    seeds="$seeds${seeds:+, }\"127.0.0.1:$((TRANSPORT_BASE + j - 1))\""
    masters="$masters${masters:+, }\"node-$j\""
  done
  mkdir -p "$conf" "$RUN/node-$i/data" "$RUN/node-$i/logs"
  cp "$DIST/config/jvm.options" "$DIST/config/log4j2.properties" "$conf/"
  mkdir -p "$conf/jvm.options.d"
  cat >"$conf/opensearch.yml" <<EOF
cluster.name: $CLUSTER_NAME
node.name: node-$i
network.host: 127.0.0.1
http.port: $((HTTP_BASE + i - 1))
transport.port: $((TRANSPORT_BASE + i - 1))
discovery.seed_hosts: [$seeds]
cluster.initial_cluster_manager_nodes: [$masters]
path.data: $RUN/node-$i/data
path.logs: $RUN/node-$i/logs
# A developer's disk may be fuller than the default watermarks allow.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  # Small heaps: several nodes share a developer's machine.
  printf -- '-Xms512m\n-Xmx512m\n' >"$conf/jvm.options.d/heap.options"
}

launch() {
  local i=$1 java_home
  java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
  rm -f "$(pidfile "$i")" "$RUN/node-$i/started"
  [ "$(id -u)" = 0 ] && chown -R "$RUN_USER:" "$RUN/node-$i"
  as_node_user env OPENSEARCH_PATH_CONF="$RUN/node-$i/config" OPENSEARCH_JAVA_HOME="$java_home" \
    "$(home)/bin/opensearch" -d -p "$(pidfile "$i")" \
    >"$RUN/node-$i/launch.log" 2>&1 \
    || die "node $i did not start: $(tail -5 "$RUN/node-$i/launch.log")"
  # -d returns once the node daemonized; the PID file is written as it boots.
  local deadline=$((SECONDS + 60))
  while ! alive "$i" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
  alive "$i" || die "node $i did not start: $(tail -5 "$RUN/node-$i/launch.log")"
  touch "$RUN/node-$i/started"
}

# Wait, bounded, until the cluster has N nodes and is at least yellow.
wait_cluster() {
  local n=$1 deadline=$((SECONDS + WAIT)) health i
  while [ "$SECONDS" -lt "$deadline" ]; do
    # A node that died at boot will not come back: say why at once instead of waiting.
    for i in $(seq 1 "$(nodes)"); do
      if [ -f "$RUN/node-$i/started" ] && ! alive "$i"; then
        die "node $i exited: $(grep -h ERROR "$RUN/node-$i/logs/"*.log 2>/dev/null | tail -3)"
      fi
    done
    health=$(curl -s -m 5 "$(url "$(first_alive)")/_cluster/health?wait_for_nodes=$n&wait_for_status=yellow&timeout=5s" || true)
    case "$health" in
      *'"timed_out":false'*) return 0 ;;
    esac
    sleep 1
  done
  die "cluster not ready with $n nodes after ${WAIT}s (logs: $RUN/node-*/logs)"
}

first_alive() {
  local i
  for i in $(seq 1 "$(nodes)"); do
    if alive "$i"; then echo "$i"; return; fi
  done
  echo 1
}

urls() {
  local i
  for i in $(seq 1 "$(nodes)"); do url "$i"; done
}

start() {
  local n=${1:?usage: cluster.sh start N} i
  [[ "$n" =~ ^[1-9]$ ]] || die "N must be 1-9"
  for i in $(seq 1 "$(nodes)"); do
    alive "$i" && die "node $i is running (PID $(cat "$(pidfile "$i")")): cluster.sh stop first"
  done
  fetch
  # Fresh data each start: a test cluster, not a store.
  rm -rf "$RUN"
  mkdir -p "$RUN"
  echo "$n" >"$RUN/nodes"
  for i in $(seq 1 "$n"); do configure "$i" "$n"; done
  prepare_user
  for i in $(seq 1 "$n"); do launch "$i"; done
  wait_cluster "$n"
  urls
}

stop_node() {
  local i=$1 pid deadline
  alive "$i" || return 0
  pid=$(cat "$(pidfile "$i")")
  kill "$pid"
  deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  rm -f "$(pidfile "$i")" "$RUN/node-$i/started"
}

stop() {
  local i
  for i in $(seq 1 "$(nodes)"); do stop_node "$i"; done
}

check_node() {
  [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$(nodes)" ] \
    || die "no node $1 (cluster has $(nodes))"
}

status() {
  local i
  curl -s -m 5 "$(url "$(first_alive)")/_cluster/health?pretty" || echo "cluster not answering"
  for i in $(seq 1 "$(nodes)"); do
    if alive "$i"; then echo "node-$i $(url "$i") PID $(cat "$(pidfile "$i")")"
    else echo "node-$i $(url "$i") stopped"; fi
  done
}

case "${1:-}" in
  fetch) fetch; echo "$DIST" ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  stop-node) check_node "${2:-}"; stop_node "$2" ;;
  start-node)
    check_node "${2:-}"
    alive "$2" && die "node $2 is running"
    launch "$2"
    wait_cluster "$(nodes)" ;;
  urls) urls ;;
  status) status ;;
  *) die "usage: cluster.sh fetch|start N|stop|stop-node I|start-node I|urls|status" ;;
esac
