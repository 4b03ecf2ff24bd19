#!/usr/bin/env bash
# API benchmark: wrk against `herald serve` (embedded SQLite store, every 202 on
# disk), then, in the same run, against reference_server.py (Python's standard
# library, one durable commit per request) as the reference. Prints Markdown
# rows for docs/BENCHMARKS.md.
#
# Usage: bench/api/run.sh [SECONDS=10]
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
duration=${1:-10}
herald="$repo/build/src/cli/herald"
[ -x "$herald" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

# wrk output -> "rate p50 p99" (rate in requests/s, latencies as wrk prints them)
run_wrk() {
  local connections=$1 script=$2 url=$3
  wrk -t2 -c"$connections" -d"${duration}s" --latency -s "$script" "$url" > "$work/wrk.txt"
  if grep -q "Non-2xx" "$work/wrk.txt"; then echo "non-2xx answers:" >&2; cat "$work/wrk.txt" >&2; exit 1; fi
  awk '/Requests\/sec/ {rate=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {printf "%.0f %s %s\n", rate, p50, p99}' "$work/wrk.txt"
}

# The bench measures the service, not the default rate limits: premium keys unlimited.
export HERALD_SERVE_PREMIUM_PER_MINUTE=0
port=$(free_port)
key=$("$herald" keys create --name bench --tier premium --data-dir "$work/data")
"$herald" serve --listen "127.0.0.1:$port" --data-dir "$work/data" 2>"$work/serve.log" &
pids+=($!)
wait_port "$port"
export BENCH_API_KEY=$key
url="http://127.0.0.1:$port"

# Recipients waiting in every lane, from /metrics: with the accepted count, what
# the workers delivered while a run took requests.
backlog() {
  /usr/bin/python3 -c "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())" \
    "$url/metrics" | awk '/^queue_depth/ {sum += $2} END {printf "%d\n", sum}'
}
delivered_per_second() {  # accepted/s, backlog before, backlog after
  /usr/bin/python3 -c "print(max(0, round($1 - ($3 - $2) / $duration)))"
}

# First, while no worker has anything to do: scheduled a year ahead, the
# acceptance path alone.
read -r accept64 accept64_p50 accept64_p99 < <(run_wrk 64 "$repo/bench/api/post_scheduled.lua" "$url/api/v1/messages")

# Latency at the target load, in a steady state: 64 connections offering ~10,000
# requests/s in all (each waits ~4 ms after its answer) while the workers deliver
# that same stream, with no backlog from an earlier run.
export BENCH_DELAY_MS=${BENCH_DELAY_MS:-4}
before=$(backlog)
read -r paced64 paced64_p50 paced64_p99 < <(run_wrk 64 "$repo/bench/api/post_message_paced.lua" "$url/api/v1/messages")
paced64_delivered=$(delivered_per_second "$paced64" "$before" "$(backlog)")
# Then as fast as wrk can: the workers fall behind and deliver the backlog later.
before=$(backlog)
read -r single64 single64_p50 single64_p99 < <(run_wrk 64 "$repo/bench/api/post_message.lua" "$url/api/v1/messages")
single64_delivered=$(delivered_per_second "$single64" "$before" "$(backlog)")
read -r single16 single16_p50 single16_p99 < <(run_wrk 16 "$repo/bench/api/post_message.lua" "$url/api/v1/messages")
export BENCH_BULK_SIZE=1000
read -r bulk bulk_p50 bulk_p99 < <(run_wrk 4 "$repo/bench/api/post_bulk.lua" "$url/api/v1/messages/bulk")
bulk_recipients=$((bulk * BENCH_BULK_SIZE))

ref_port=$(free_port)
/usr/bin/python3 "$repo/bench/api/reference_server.py" "$ref_port" "$work/reference.db" &
pids+=($!)
wait_port "$ref_port"
read -r ref ref_p50 ref_p99 < <(run_wrk 64 "$repo/bench/api/post_message.lua" "http://127.0.0.1:$ref_port/api/v1/messages")

ratio() { /usr/bin/python3 -c "print(round($1 / $2, 1))"; }
today=$(date -u +%Y-%m-%d)
echo "single requests, 64 connections (workers delivering meanwhile): ${single64}/s p50 ${single64_p50} p99 ${single64_p99}; delivered ${single64_delivered}/s meanwhile"
echo "single requests, 64 connections paced to ~10,000/s: ${paced64}/s p50 ${paced64_p50} p99 ${paced64_p99}; delivered ${paced64_delivered}/s meanwhile"
echo "single requests, 16 connections: ${single16}/s p50 ${single16_p50} p99 ${single16_p99}"
echo "acceptance only (scheduled ahead, no worker competing), 64 connections: ${accept64}/s p50 ${accept64_p50}"
echo "bulk of ${BENCH_BULK_SIZE}, 4 connections: ${bulk} requests/s = ${bulk_recipients} recipients/s, p50 ${bulk_p50}"
echo "reference (Python stdlib + sqlite3), 64 connections: ${ref}/s p50 ${ref_p50}"
echo "| $today | POST /api/v1/messages, 64 connections, workers delivering | ${single64}/s, p50 ${single64_p50}, p99 ${single64_p99}; ${single64_delivered}/s delivered meanwhile | Python reference: ${ref}/s, p50 ${ref_p50} | $(ratio "$single64" "$ref")x |"
echo "| $today | POST /api/v1/messages, 64 connections paced to the 10,000/s target, workers delivering | ${paced64}/s, p50 ${paced64_p50}, p99 ${paced64_p99}; ${paced64_delivered}/s delivered meanwhile | | |"
echo "| $today | POST /api/v1/messages, 16 connections | ${single16}/s, p50 ${single16_p50} | | |"
echo "| $today | POST /api/v1/messages scheduled ahead (acceptance only), 64 connections | ${accept64}/s, p50 ${accept64_p50} | | $(ratio "$accept64" "$ref")x |"
echo "| $today | POST /api/v1/messages/bulk, ${BENCH_BULK_SIZE} per request, 4 connections | ${bulk_recipients} recipients/s, p50 ${bulk_p50} | | $(ratio "$bulk_recipients" "$ref")x |"
