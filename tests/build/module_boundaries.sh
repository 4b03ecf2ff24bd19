#!/usr/bin/env bash
# Proves the module boundaries hold, so a dependency pointing the wrong way
# fails to build:
# - with only the include roots that domain/ gets (its own and common's), a
#   domain header compiles and a store header is not found;
# - with the store's interfaces (what api/ and dispatch/ link), an interface
#   compiles and the SQLite backend's headers are not found.
# Usage: module_boundaries.sh CXX BUILD_DIR
set -euo pipefail
cxx=$1
build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# check visible|hidden HEADER FLAGS...: whether HEADER is found with those include roots.
check() {
  local expect=$1 header=$2
  shift 2
  echo "#include \"$header\"" > "$work/probe.cpp"
  if "$cxx" -std=c++20 -fsyntax-only "$@" "$work/probe.cpp" 2> "$work/probe.log"; then
    if [[ $expect == hidden ]]; then
      echo "$header is visible with $*: the module boundary does not hold" >&2
      exit 1
    fi
  else
    if [[ $expect == visible ]]; then
      cat "$work/probe.log" >&2
      exit 1
    fi
    grep -q "$header: No such file" "$work/probe.log"
  fi
}

domain=(-I "$build/module-include/domain" -I "$build/module-include/common")
check visible domain/delivery_state.hpp "${domain[@]}"
check hidden store/certificate_store.hpp "${domain[@]}"

interfaces=("${domain[@]}" -I "$build/module-include/store-interfaces")
check visible store/message_store.hpp "${interfaces[@]}"
check visible store/pacing_store.hpp "${interfaces[@]}"
check hidden store/sqlite/sqlite_api_store.hpp "${interfaces[@]}"
check hidden store/sqlite/database.hpp "${interfaces[@]}"
echo "module boundaries hold"
