# shellcheck shell=bash
# Sourced by scripts/test and bench/run: starts a throwaway PostgreSQL cluster in a temporary
# directory on a free loopback port, exports its URL as LYO_PG_URL, and stops and deletes it on
# exit (also on failure or ctrl-c). PostgreSQL refuses to run as root, so as root the cluster
# runs as the `postgres` user (or a dedicated `lyo-test` user created for it).
#
# Usage: pg_throwaway_start [extra postgres -c settings...]

pg_find_bindir() {
  local dir
  if command -v pg_config >/dev/null 2>&1; then
    dir=$(pg_config --bindir 2>/dev/null || true)
    [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && { echo "$dir"; return 0; }
  return 1
}

pg_ensure_installed() {
  pg_find_bindir >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "scripts: installing the postgresql package (no server binaries found)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
    pg_find_bindir >/dev/null && return 0
  fi
  echo "scripts: no PostgreSQL server binaries found; install the postgresql package or set DATABASE_URL" >&2
  return 1
}

pg_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( (RANDOM % 20000) + 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

pg_throwaway_stop() {
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
    $PG_AS "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}

pg_throwaway_start() {
  pg_ensure_installed || return 1
  PG_BIN=$(pg_find_bindir)
  # /tmp, not TMPDIR: as root the cluster runs as another user, who must reach the directory.
  PG_TMP=$(mktemp -d /tmp/lyo-pg.XXXXXX)
  PG_AS=""
  trap pg_throwaway_stop EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [ "$(id -u)" = 0 ]; then
    local user=postgres
    if ! id "$user" >/dev/null 2>&1; then
      user=lyo-test
      id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
    fi
    chown "$user" "$PG_TMP"
    chmod 700 "$PG_TMP"
    PG_AS="runuser -u $user --"
  fi
  $PG_AS "$PG_BIN/initdb" -D "$PG_TMP/data" -U lyo --auth=trust -E UTF8 --no-sync >"$PG_TMP/initdb.log" 2>&1 \
    || { cat "$PG_TMP/initdb.log" >&2; return 1; }
  # A port nobody listens on may still be the local end of a connection (the range overlaps the
  # ephemeral ports): when the bind fails for that, another port is tried.
  local port settings attempt
  for attempt in 1 2 3 4 5; do
    port=$(pg_free_port) || { echo "scripts: no free port" >&2; return 1; }
    settings="-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c max_connections=300"
    for extra in "$@"; do settings="$settings -c $extra"; done
    rm -f "$PG_TMP/server.log"
    if $PG_AS "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -o "$settings" -w start >/dev/null; then
      break
    fi
    if [ "$attempt" = 5 ] || ! grep -q "Address already in use" "$PG_TMP/server.log"; then
      cat "$PG_TMP/server.log" >&2
      return 1
    fi
  done
  export LYO_PG_URL="postgres://lyo@127.0.0.1:$port/postgres"
  export PG_BIN PG_TMP
  echo "scripts: throwaway PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

# For benchmarks: makes the cluster's next WAL segments (about 1 GB, max_wal_size) recycled
# files, as on a server that has been running for a while. A fresh cluster has none: it creates
# and zero-fills a new 16 MB segment (and fsyncs it and pg_wal) every 1.7 s at 1,000 messages a
# second, and the commits that wait for it take 15-50 ms instead of 1-2 ms. Each of 64 rounds
# writes a record and switches to a new segment; the checkpoint then keeps them all for reuse.
# (Until 2026-11-24 this wrote 250 MB of table data instead: 15 segments recycled, used up
# halfway through the ingest benchmark, whose later phases then created segments again.)
pg_throwaway_preallocate_wal() {
  psql -q -v ON_ERROR_STOP=1 "$LYO_PG_URL" \
    -c "DO \$\$ BEGIN FOR i IN 1..64 LOOP
          CREATE TABLE lyo_wal_warm_up (); DROP TABLE lyo_wal_warm_up; PERFORM pg_switch_wal();
        END LOOP; END \$\$" \
    -c "CHECKPOINT"
}
