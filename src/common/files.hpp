// Small POSIX file helpers shared by the modules that write files themselves.
#pragma once

#include <string_view>

namespace herald {

// Writes all of `data` to `fd`, retrying short writes and EINTR. False with
// errno set when a write fails.
bool WriteAll(int fd, std::string_view data);

}  // namespace herald
