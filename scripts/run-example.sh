#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# certificate job on the bundled example with embedded defaults (SQLite data dir,
# embedded queue, e-mails written as .eml files into the outbox).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
example=examples/certificates
./build/src/cli/herald certificates \
  --csv "$example/students.csv" \
  --events "$example/events.txt" \
  --template "$example/template.svg" \
  --out out/certificates \
  --data-dir herald-data \
  --from "Herald Example <certificates@example.org>" "$@"
echo "certificates: out/certificates/<event>/*.pdf   e-mails: herald-data/outbox/*.eml"
