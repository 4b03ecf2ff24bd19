// What every fuzz target shares: a failed invariant aborts with a sentence
// saying which one, so libFuzzer records the input as a crash and its log says
// what broke, not only where.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace herald::fuzz {

// Aborts (a finding) unless `holds`; `invariant` says what should have been true.
inline void Require(bool holds, std::string_view invariant) {
  if (holds) return;
  std::fprintf(stderr, "\ninvariant broken: %.*s\n", static_cast<int>(invariant.size()), invariant.data());
  std::abort();
}

}  // namespace herald::fuzz
