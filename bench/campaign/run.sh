#!/usr/bin/env bash
# Campaign benchmark: N contacts imported from CSV into `herald serve` (default
# settings: embedded SQLite store and queue, every write durable), one e-mail
# campaign (personalised subject, HTML and text) sent over SMTP to Postfix's
# smtp-sink on loopback; the time from the send request to the sink's N-th
# message, and herald serve's peak RSS. Reference in the same run: Postfix's own
# load generator, `smtp-source -s 16 -m N -l SIZE`, into a fresh smtp-sink, with
# SIZE the size of herald's messages. Prints a Markdown row for docs/BENCHMARKS.md.
#
# Usage: bench/campaign/run.sh [CONTACTS=50000]
# BENCH_PROFILE=FILE records `perf record -g` of herald serve during the send into FILE;
# BENCH_PROFILE_ALL=FILE records every process on the machine (flat, no call graphs).
# BENCH_TIMELINE=1 prints the sink's count every second of the send.
# BENCH_STACK=postgres-rabbitmq runs Herald scaled out instead: a private
# PostgreSQL (default durability) and RabbitMQ node on loopback, `herald api`
# and BENCH_WORKERS (default 2) `herald worker --lanes email` processes; RSS
# and CPU are then the sums over the herald processes.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
contacts=${1:-50000}
herald="$repo/build/src/cli/herald"
python=/usr/bin/python3
[ -x "$herald" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
[ -x /usr/sbin/smtp-sink ] || { echo "postfix's smtp-sink is missing: scripts/install-deps.sh" >&2; exit 1; }

work=$(mktemp -d)
pids=()
stack=${BENCH_STACK:-embedded}
workers=${BENCH_WORKERS:-2}
cleanup() {
  [ "$stack" = embedded ] || stop_rabbitmq
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${BENCH_KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { $python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
now() { date +%s.%N; }
# shellcheck source=bench/lib/servers.sh
. "$repo/bench/lib/servers.sh"

# smtp-sink -c keeps a running count of completed DATA commands on stdout ("\r... mesg=N").
start_sink() {  # port output-file
  /usr/sbin/smtp-sink -c -u root "127.0.0.1:$1" 1000 > "$2" 2>&1 &
  pids+=($!)
  wait_port "$1"
}
# Waits until the sink's counter reaches `count`, in one process (a poll that
# forked tail and awk every few milliseconds would take CPU from what is
# measured), and writes the times of the first and the count-th message.
wait_for_count() {  # output-file count timeout-seconds
  $python - "$@" <<'PY'
import os, re, sys, time
path, count, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline, first, seen = time.time() + timeout, None, 0
started, next_report = time.time(), time.time() + 1
timeline = os.environ.get("BENCH_TIMELINE")
with open(path, "rb") as sink:
    while True:
        size = os.fstat(sink.fileno()).st_size
        sink.seek(max(0, size - 400))
        found = re.findall(rb"mesg=(\d+)", sink.read())
        seen = int(found[-1]) if found else 0
        if seen > 0 and first is None:
            first = time.time()
        if timeline and time.time() >= next_report:
            print(f"  {time.time() - started:5.1f} s: {seen} delivered", file=sys.stderr)
            next_report += 1
        if seen >= count:
            break
        if time.time() > deadline:
            sys.exit(f"timed out: the sink has {seen} of {count}")
        time.sleep(0.005)
with open(path + ".first", "w") as out:
    out.write(f"{first}\n")
PY
}
sink_count() { $python -c 'import re,sys; d=open(sys.argv[1],"rb").read()[-400:]; f=re.findall(rb"mesg=(\d+)", d); print(int(f[-1]) if f else 0)' "$1"; }

$python - "$work/contacts.csv" "$contacts" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
cities = ["Ankara", "Berlin", "Lagos", "Lima", "Osaka", "Porto", "Quito", "Riga", "Tunis", "Zagreb"]
products = ["the starter plan", "the team plan", "the annual plan", "the family plan"]
with open(path, "w", encoding="utf-8") as out:
    out.write("email,first_name,last_name,location,preferred_product\n")
    for i in range(n):
        out.write(f"reader{i}@example.org,Reader{i},Family{i % 977},{cities[i % len(cities)]},{products[i % len(products)]}\n")
PY

sink_port=$(free_port)
start_sink "$sink_port" "$work/sink.txt"
api_port=$(free_port)
export HERALD_SERVE_PREMIUM_PER_MINUTE=0
export HERALD_SMTP_URL="smtp://127.0.0.1:$sink_port"
herald_pids=()
if [ "$stack" = postgres-rabbitmq ]; then
  start_postgres
  start_rabbitmq
  export HERALD_STORE_KIND=postgres HERALD_STORE_URL="$pg_url" HERALD_QUEUE_KIND=rabbitmq HERALD_QUEUE_AMQP_URL="$amqp_url"
  "$herald" migrate --data-dir "$work/data" >&2
  key=$("$herald" keys create --name bench --tier premium --data-dir "$work/data")
  for i in $(seq "$workers"); do
    "$herald" worker --lanes email --data-dir "$work/data" 2>"$work/worker$i.log" &
    herald_pids+=($!); pids+=($!)
  done
  "$herald" api --listen "127.0.0.1:$api_port" --data-dir "$work/data" 2>"$work/serve.log" &
  serve_pid=$!
  describe="herald api + $workers herald worker on PostgreSQL + RabbitMQ (all on this machine)"
elif [ "$stack" = embedded ]; then
  key=$("$herald" keys create --name bench --tier premium --data-dir "$work/data")
  "$herald" serve --listen "127.0.0.1:$api_port" --data-dir "$work/data" 2>"$work/serve.log" &
  serve_pid=$!
  describe="herald serve defaults"
else
  echo "BENCH_STACK must be embedded or postgres-rabbitmq, got $stack" >&2; exit 2
fi
herald_pids+=($serve_pid)
pids+=($serve_pid)
wait_port "$api_port"
url="http://127.0.0.1:$api_port"

api() {  # method path body-file|-> prints the body; fails on a non-2xx answer
  curl -sS -f -X "$1" -H "X-API-Key: $key" -H "Content-Type: ${4:-application/json}" --data-binary "@$3" "$url$2"
}
imported=$(api POST /api/v1/contacts/import "$work/contacts.csv" text/csv | $python -c 'import json,sys; print(json.load(sys.stdin)["imported"])')
[ "$imported" -eq "$contacts" ] || { echo "imported $imported of $contacts contacts" >&2; exit 1; }

$python - "$work/template.json" <<'PY'
import json, sys
paragraph = ("We have been working on {{preferred_product}} all season, and this month it comes with "
             "something for readers in {{location}}: free delivery, a longer trial and a guide written by "
             "our team. ")
text = "Hello {{first_name}} {{last_name}},\n\n" + (paragraph * 6) + "\n\nSee you soon,\nThe Example team\n"
html = ("<html><body><h1>Hello {{first_name}} {{last_name}}</h1>"
        + "".join(f"<p>{paragraph}</p>" for _ in range(8))
        + "<p><a href=\"https://example.org/offer?city={{location}}\">See the offer</a></p></body></html>")
json.dump({"name": "bench", "channel": "email", "subject": "{{first_name}}, news for {{location}}",
           "text": text, "html": html}, open(sys.argv[1], "w"))
PY
template_id=$(api POST /api/v1/templates "$work/template.json" | $python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "{\"name\": \"bench\", \"channel\": \"email\", \"template_id\": $template_id}" > "$work/campaign.json"
campaign_id=$(api POST /api/v1/campaigns "$work/campaign.json" | $python -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo '{}' > "$work/empty.json"

perf_pid=
if [ -n "${BENCH_PROFILE:-}" ]; then
  perf record -g -p "$serve_pid" -o "$BENCH_PROFILE" 2>/dev/null &
  perf_pid=$!
  sleep 0.5
elif [ -n "${BENCH_PROFILE_ALL:-}" ]; then
  perf record -a -o "$BENCH_PROFILE_ALL" 2>/dev/null &
  perf_pid=$!
  sleep 0.5
fi
# CPU seconds by command over every process, for what the send itself cost
# (the totals below also count start-up and the import).
cpu_by_command() {
  $python - <<'PY'
import os
hz, totals = os.sysconf("SC_CLK_TCK"), {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        continue
    comm, rest = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
    totals[comm] = totals.get(comm, 0) + (int(rest[11]) + int(rest[12])) / hz
print(" ".join(f"{k}={v:.2f}" for k, v in totals.items() if k in ("herald", "postgres", "beam.smp", "smtp-sink")))
PY
}
cpu_before=$(cpu_by_command)
start=$(now)
# The send answers once every page of contacts is stored; delivery starts with the first page.
(api POST "/api/v1/campaigns/$campaign_id/send" "$work/empty.json" > "$work/send.json"; now > "$work/accepted"
 sink_count "$work/sink.txt" > "$work/delivered-at-accept") &
send_pid=$!
wait_for_count "$work/sink.txt" "$contacts" 600
wait "$send_pid"
accepted=$(cat "$work/accepted")
end=$(now)
cpu_after=$(cpu_by_command)
send_cpu=$($python - "$cpu_before" "$cpu_after" <<'PY'
import sys
before, after = (dict((kv.split("=")[0], float(kv.split("=")[1])) for kv in arg.split()) for arg in sys.argv[1:3])
print(", ".join(f"{k} {after[k] - before.get(k, 0):.1f} s" for k in sorted(after)))
PY
)
peak_rss_kb=0
for p in "${herald_pids[@]}"; do peak_rss_kb=$((peak_rss_kb + $(awk '/^VmHWM/ {print $2}' "/proc/$p/status"))); done
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat"; }
herald_cpu=$(for p in "${herald_pids[@]}"; do cpu_seconds "$p"; echo; done | awk '{s += $1} END {printf "%.1f", s}')
sink_cpu=$(cpu_seconds "${pids[0]}")
[ "$stack" = embedded ] || print_postgres_statements
# The servers' CPU during the run (every postgres backend, the broker's VM).
server_cpu=""
if [ "$stack" != embedded ]; then
  server_cpu=$(ps -e -o comm=,times= | awk '$1 == "postgres" || $1 == "beam.smp" {s[$1] += $2} END {for (k in s) printf ", %s %.1f s", k, s[k]}')
fi
if [ -n "$perf_pid" ]; then kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true; fi
queued=$($python -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages_queued"])' "$work/send.json")
[ "$queued" -eq "$contacts" ] || { echo "the send queued $queued of $contacts" >&2; exit 1; }
# The size of one of herald's messages as the sink received it, for the reference.
message_bytes=$($python - "$url" "$key" <<'PY'
import json, sys, urllib.request
url, key = sys.argv[1], sys.argv[2]
req = urllib.request.Request(url + "/api/v1/messages?page_size=1", headers={"X-API-Key": key})
m = json.load(urllib.request.urlopen(req))["data"][0]
# Headers, MIME boundaries and transfer encoding add ~630 bytes to the two parts
# (measured on an outbox .eml of this template).
print(len(m["content"].encode()) + len(m.get("html", "").encode()) + 630)
PY
)
for p in "${herald_pids[@]}"; do kill -TERM "$p"; done
for p in "${herald_pids[@]}"; do wait "$p" 2>/dev/null || true; done

ref_port=$(free_port)
start_sink "$ref_port" "$work/ref-sink.txt"
ref_start=$(now)
/usr/sbin/smtp-source -s 16 -m "$contacts" -l "$message_bytes" "127.0.0.1:$ref_port"
wait_for_count "$work/ref-sink.txt" "$contacts" 600
ref_end=$(now)

first=$(cat "$work/sink.txt.first" 2>/dev/null || echo "$start")
read -r herald_rate accept_s first_s ref_rate ratio rss_mb < <($python - "$start" "$accepted" "$end" "$ref_start" \
  "$ref_end" "$contacts" "$peak_rss_kb" "$first" <<'PY'
import sys
start, accepted, end, ref_start, ref_end = map(float, sys.argv[1:6])
n, rss, first = int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8])
herald, ref = n / (end - start), n / (ref_end - ref_start)
print(f"{herald:.0f} {accepted - start:.2f} {first - start:.2f} {ref:.0f} {herald / ref:.2f} {rss / 1024:.0f}")
PY
)
echo "contacts=$contacts message_bytes~$message_bytes herald=${herald_rate}/s (send request answered after ${accept_s} s with $(cat "$work/delivered-at-accept") delivered, first message at ${first_s} s) peak_rss=${rss_mb}MB cpu: herald ${herald_cpu} s, sink ${sink_cpu} s${server_cpu}; cpu during the send: ${send_cpu}; smtp-source=${ref_rate}/s ratio=${ratio}x"
echo "| $(date -u +%Y-%m-%d) | campaign to $contacts contacts (subject, text, HTML personalised), $describe, SMTP to smtp-sink | ${herald_rate}/s, send answered in ${accept_s} s, peak RSS ${rss_mb} MB | smtp-source -s 16, ${message_bytes}-byte messages: ${ref_rate}/s | ${ratio}× |"
