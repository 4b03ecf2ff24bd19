#!/usr/bin/env bash
# Installs every Debian 12 package that building Herald, running its tests and
# running the bundled example need. Non-interactive and idempotent: packages
# already present are left alone, and apt-get runs only when something is missing.
set -euo pipefail

build_packages=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libboost-system-dev libboost-program-options-dev
  libssl-dev libsqlite3-dev sqlite3
  librsvg2-dev libcairo2-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev
  librabbitmq-dev libgmime-3.0-dev libpq-dev libhiredis-dev
  librestinio-dev libhttp-parser-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
)

# Certificates must render names in every script a class list may contain.
font_packages=(
  fontconfig fonts-dejavu-core fonts-dejavu-extra
  fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji
  # TrueType CJK and Hangul: cairo subsets them ~2x faster than the CFF-based Noto CJK.
  fonts-droid-fallback fonts-nanum
)

test_packages=(
  python3 python3-aiosmtpd python3-yaml poppler-utils qpdf librsvg2-bin openssl
  postfix rabbitmq-server postgresql-15 redis-server procps
  # HTTP load generator for bench/api; promtool checks the /metrics text.
  wrk prometheus
)

# The fuzz targets (ctest label fuzz, scripts/fuzz.sh): clang with libFuzzer and
# the sanitizers, which live in libclang-rt-14-dev (clang only recommends it, and
# recommends are not installed here), and llvm-symbolizer (in llvm-14) for
# file:line in a finding's stack trace.
fuzz_packages=(clang libclang-rt-14-dev llvm-14)

# Node.js and npm run the OpenAPI validator (ctest label openapi). A machine that
# already has node and npm from elsewhere (NodeSource's nodejs bundles npm and
# conflicts with Debian's npm package) keeps them.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  test_packages+=(nodejs npm)
fi

wanted=("${build_packages[@]}" "${font_packages[@]}" "${test_packages[@]}" "${fuzz_packages[@]}")
# --build-only: what building the binary needs (the Dockerfile's build stage).
if [ "${1:-}" = "--build-only" ]; then wanted=("${build_packages[@]}"); fi

missing=()
for package in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#wanted[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

export DEBIAN_FRONTEND=noninteractive
# postfix asks how to configure itself; Herald only uses its smtp-sink/smtp-source tools.
echo "postfix postfix/main_mailer_type select No configuration" | "${sudo_cmd[@]}" debconf-set-selections
"${sudo_cmd[@]}" apt-get update -q
# policy-rc.d keeps the package scripts from starting system daemons (postfix, rabbitmq):
# tests start their own private instances on loopback.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
  "${sudo_cmd[@]}" chmod +x "$policy"
  created_policy=1
fi
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ "$created_policy" -eq 1 ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi
echo "install-deps: done"
