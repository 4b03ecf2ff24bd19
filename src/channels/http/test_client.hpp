// For the tests of HTTP adapters: one I/O thread and one HttpClient for the
// whole test binary. The runtime is made first, so it outlives the client and
// no answer lands on a stopped executor.
#pragma once

#include "channels/http/http_client.hpp"
#include "common/io_runtime.hpp"

namespace herald::channels::http {

inline IoRuntime& TestRuntime() {
  static IoRuntime runtime;
  return runtime;
}

inline HttpClient& TestClient() {
  TestRuntime();
  static HttpClient client;
  return client;
}

}  // namespace herald::channels::http
