# Private PostgreSQL and RabbitMQ servers on loopback for benchmarks, from
# Debian's packages: data in a folder under $work, ephemeral ports, stopped by
# PID at exit (the caller's cleanup kills "${pids[@]}"). Source it after
# defining `work`, `pids`, `free_port` and `wait_port`.

# Starts PostgreSQL 15 with its default durability (fsync, synchronous commit),
# as the postgres user when run as root; sets pg_url.
start_postgres() {
  local dir="$work/postgres" bin=/usr/lib/postgresql/15/bin as=()
  mkdir -p "$dir/data"
  if [ "$(id -u)" -eq 0 ]; then
    chmod 755 "$work" "$dir"
    chown -R postgres:postgres "$dir"
    as=(setpriv --reuid=postgres --regid=postgres --init-groups --)
  fi
  "${as[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 > "$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; return 1; }
  local port
  port=$(free_port)
  "${as[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -c listen_addresses=127.0.0.1 \
    -c unix_socket_directories="$dir" -c max_connections=200 \
    ${BENCH_PG_STATS:+-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track_planning=on} > "$dir/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.1; done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || { echo "PostgreSQL did not start; see $dir/server.log" >&2; return 1; }
  psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE herald" >&2
  if [ -n "${BENCH_PG_STATS:-}" ]; then
    psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d herald -c "CREATE EXTENSION pg_stat_statements" >&2
  fi
  pg_port=$port
  pg_url="postgresql://postgres@127.0.0.1:$port/herald"
}

# Starts a RabbitMQ node with its own epmd; sets amqp_url.
start_rabbitmq() {
  local dir="$work/rabbitmq" rbin=/usr/lib/rabbitmq/bin
  mkdir -p "$dir"
  local port dist epmd
  port=$(free_port); dist=$(free_port); epmd=$(free_port)
  echo "[]." > "$dir/enabled_plugins"
  echo "listeners.tcp.default = 127.0.0.1:$port" > "$dir/rabbitmq.conf"
  rabbit_env=(HOME="$dir" RABBITMQ_NODENAME="bench$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT="$dist" ERL_EPMD_PORT="$epmd" ERL_EPMD_ADDRESS=127.0.0.1
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
  env "${rabbit_env[@]}" epmd -address 127.0.0.1 -port "$epmd" > "$dir/epmd.log" 2>&1 &
  pids+=($!)
  wait_port "$epmd"
  env "${rabbit_env[@]}" "$rbin/rabbitmq-server" > "$dir/server.log" 2>&1 &
  pids+=($!)
  # The listener opens near the end of boot (5-15 s); then await_startup confirms it is ours.
  for _ in $(seq 1200); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  env "${rabbit_env[@]}" "$rbin/rabbitmqctl" -n "bench$port@localhost" -q await_startup --timeout 120 ||
    { echo "RabbitMQ did not start; see $dir/log" >&2; return 1; }
  rabbit_ctl=(env "${rabbit_env[@]}" "$rbin/rabbitmqctl" -n "bench$port@localhost" -q)
  amqp_url="amqp://guest:guest@127.0.0.1:$port/%2f"
}

# Asks the RabbitMQ node to stop (its beam process is not ours to SIGKILL cleanly).
stop_rabbitmq() { [ -n "${rabbit_ctl:-}" ] && "${rabbit_ctl[@]}" stop > /dev/null 2>&1 || true; }

# BENCH_PG_STATS=1: the statements that took the server's time, for profiling.
print_postgres_statements() {
  [ -n "${BENCH_PG_STATS:-}" ] || return 0
  psql -X -h 127.0.0.1 -p "$pg_port" -U postgres -d herald -c "SELECT round(total_exec_time) AS ms, round(total_plan_time) AS plan_ms, calls, rows,
    left(regexp_replace(query, '\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" >&2
}
