# Starts a throw-away PostgreSQL cluster for the medium tests and stops it again.
# Source this file, then: pg_test_start <dir> <port>; ...; pg_test_stop <dir>
# The cluster listens on 127.0.0.1 and a socket in <dir> only, and trusts local connections.

pg_bin_dir() {
  local v
  v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1)
  [ -n "$v" ] && echo "/usr/lib/postgresql/$v/bin"
}

pg_test_start() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin_dir) || { echo "postgresql server not installed" >&2; return 1; }
  mkdir -p "$dir"
  # PostgreSQL refuses to run as root: run it as the postgres system user when we are root.
  local as=()
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; as=(runuser -u postgres --); fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200" \
    >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  export TWARGA_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_test_stop() {
  local dir=$1 bin
  bin=$(pg_bin_dir) || return 0
  [ -f "$dir/data/postmaster.pid" ] || return 0
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
