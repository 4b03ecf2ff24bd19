#!/usr/bin/env bash
# Certificate benchmark: N eligible students in 5 events, rendered and mailed by
# `herald certificates` into Postfix's smtp-sink on loopback, end to end; and, in
# the same run, the reference: the same personalised SVGs converted by spawning
# rsvg-convert once per file. Prints a Markdown row for docs/BENCHMARKS.md.
#
# Usage: bench/certificates/run.sh [STUDENTS=2000] [REFERENCE_SAMPLE=300]
# BENCH_HERALD_ARGS adds flags to herald (e.g. "--concurrency 3"); BENCH_WRAP runs it
# under a profiler (e.g. "perf record -g -o FILE").
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
students=${1:-2000}
reference_sample=${2:-300}
herald="$repo/build/src/cli/herald"
template="$repo/examples/certificates/template.svg"
[ -x "$herald" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }

work=$(mktemp -d)
sink_pid=
cleanup() { [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

/usr/bin/python3 "$repo/bench/certificates/generate.py" "$work" --students "$students" --events 5
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
/usr/sbin/smtp-sink -u root "127.0.0.1:$port" 1000 &
sink_pid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

start=$(date +%s.%N)
${BENCH_WRAP:-} "$herald" certificates --csv "$work/students.csv" --events "$work/events.txt" --template "$template" \
  --out "$work/out" --data-dir "$work/data" --smtp "smtp://127.0.0.1:$port" --from "Bench <bench@example.org>" \
  --quiet --json ${BENCH_HERALD_ARGS:-} > "$work/summary.json"
end=$(date +%s.%N)
sent=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent_this_run"])' "$work/summary.json")
herald_rate=$(/usr/bin/python3 -c "print(round($sent / ($end - $start), 1))")

# Reference: personalise the SVG in Python (cheap), spawn rsvg-convert per certificate.
/usr/bin/python3 - "$template" "$work/ref" "$reference_sample" <<'PY'
import os, sys
template, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out, exist_ok=True)
svg = open(template, encoding="utf-8").read()
for i in range(n):
    text = (svg.replace("{{student_name}}", f"Student {i}").replace("{{event_name}}", "Benchmark Event 1")
               .replace("{{date}}", "23 November 2026").replace("{{hours}}", "12").replace("{{certificate_id}}", f"BENC-{i:04d}-0000"))
    open(os.path.join(out, f"{i}.svg"), "w", encoding="utf-8").write(text)
PY
ref_start=$(date +%s.%N)
ls "$work/ref"/*.svg | xargs -P "$(nproc)" -I{} rsvg-convert -f pdf -o {}.pdf {}
ref_end=$(date +%s.%N)
ref_rate=$(/usr/bin/python3 -c "print(round($reference_sample / ($ref_end - $ref_start), 1))")
ratio=$(/usr/bin/python3 -c "print(round($herald_rate / $ref_rate, 1))")

echo "students=$students sent=$sent herald=${herald_rate}/s rsvg-convert-per-file=${ref_rate}/s ratio=${ratio}x"
echo "| $(date -u +%Y-%m-%d) | certificates end to end, $students students, 5 events, SMTP to smtp-sink | ${herald_rate}/s | rsvg-convert spawned per file (parallel $(nproc)): ${ref_rate}/s | ${ratio}x |"
