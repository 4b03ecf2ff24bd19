#!/usr/bin/env bash
# Proves the module boundaries hold: with only the include roots that domain/
# gets (its own and common's), a domain header compiles and a store header is
# not found, so a dependency pointing the wrong way fails to build.
# Usage: module_boundaries.sh CXX BUILD_DIR
set -euo pipefail
cxx=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags=(-std=c++20 -fsyntax-only -I "$build/module-include/domain" -I "$build/module-include/common")
echo '#include "domain/delivery_state.hpp"' > "$work/right.cpp"
echo '#include "store/certificate_store.hpp"' > "$work/wrong.cpp"
"$cxx" "${flags[@]}" "$work/right.cpp"
if "$cxx" "${flags[@]}" "$work/wrong.cpp" 2> "$work/wrong.log"; then
  echo "domain/ could include store/: the module boundary does not hold" >&2
  exit 1
fi
grep -q "store/certificate_store.hpp: No such file" "$work/wrong.log"
echo "module boundaries hold"
