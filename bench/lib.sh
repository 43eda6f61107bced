# Shared by bench/booking and bench/e2e (sourced): a throwaway PostgreSQL, the release `lyo serve`
# on a fresh database of it, and replacing one section of docs/benchmarks.md.
. scripts/pg-throwaway.sh
target="${CARGO_TARGET_DIR:-target}"
bench_tmp=$(mktemp -d)
server_pid=""

# Stops the server started by start_lyo (SIGTERM lets it drain, SIGKILL after 10 s).
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

# Builds, starts PostgreSQL (with BENCH_PG_SETTINGS, space-separated NAME=VALUE, e.g.
# "log_autovacuum_min_duration=0 log_checkpoints=on") and creates database $1; sets bench_db,
# app_secret and lyo_env.
bench_setup() {
  cargo build --release --quiet -p lyo-bench -p lyo-api
  # shellcheck disable=SC2086 # one word per setting
  pg_throwaway_start ${BENCH_PG_SETTINGS:-}
  pg_throwaway_preallocate_wal
  # On failure the server's log is shown before it is deleted.
  trap 'rc=$?; stop_server; [ "$rc" = 0 ] || tail -n 40 "$bench_tmp/serve.log" >&2 2>/dev/null;
        rm -rf "$bench_tmp"; pg_throwaway_stop' EXIT
  psql -q -v ON_ERROR_STOP=1 "$LYO_PG_URL" -c "CREATE DATABASE $1"
  bench_db="${LYO_PG_URL%/*}/$1"
  app_secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  lyo_env=(env DATABASE_URL="$bench_db" LYO_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
           WHATSAPP_APP_SECRET="$app_secret" LYO_LOG_FORMAT=json RUST_LOG=warn)
  "${lyo_env[@]}" "$target/release/lyo" migrate >"$bench_tmp/migrate.log" 2>&1 \
    || { cat "$bench_tmp/migrate.log" >&2; exit 1; }
}

# Starts the release server on a free port ($port) with extra NAME=VALUE settings; waits for /ready.
start_lyo() {
  port=$(pg_free_port)
  "${lyo_env[@]}" LYO_BIND="127.0.0.1:$port" "$@" "$target/release/lyo" serve >>"$bench_tmp/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$bench_tmp/serve.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench: lyo serve not ready after 30 s" >&2; cat "$bench_tmp/serve.log" >&2; exit 1
}

# A restaurant open every evening with room for everyone, in $bench_tmp/booking.json.
write_booking_settings() {
  python3 - "$bench_tmp/booking.json" <<'PY'
import json, sys
days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
json.dump({"weekly": {d: [{"name": "cena", "from": "19:00", "to": "23:00"}] for d in days},
           "granularity": 30, "lead": {"earliest": 60, "latest_days": 60},
           "capacity": {"kind": "restaurant", "seating": 90, "largest_party": 8, "max_covers": 100000}},
          open(sys.argv[1], "w"))
PY
  echo '{"auto_confirm": true}' > "$bench_tmp/assistant.json"
}

# Replaces (or appends) the docs/benchmarks.md section whose heading is $1 with $2.
replace_section() {
  python3 - "$1" "$2" <<'PY'
import re, sys
path = "docs/benchmarks.md"
heading, section = sys.argv[1], sys.argv[2].rstrip() + "\n"
text = open(path).read()
pattern = re.compile(r"## " + re.escape(heading) + r"\n.*?(?=\n## |\Z)", re.S)
text = pattern.sub(lambda m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text)
PY
}
