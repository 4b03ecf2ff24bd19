#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, and runs the whole
# suite — quick unit tests and the tests that start real SMTP, RabbitMQ and the
# herald binary on loopback (ctest labels unit, smtp, rabbitmq, e2e).
# Pass ctest arguments to narrow it, e.g. `scripts/test.sh -L unit`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd build
ctest --output-on-failure --parallel 2 --timeout 900 "$@"
