// Test-side helpers to run real servers and the herald binary: spawn a child
// process with its own environment, read its output with a deadline, stop it by
// PID, and find free loopback ports. Used by every server-backed test.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace herald::testing {

class ChildProcess {
 public:
  struct Options {
    std::vector<std::string> argv;
    std::map<std::string, std::string> extra_env;  // added to (and overriding) the parent's environment
    std::string working_dir;
    std::string stdout_path;  // empty: captured through a pipe readable with ReadLine
    std::string stderr_path;  // empty: inherited
  };

  explicit ChildProcess(Options options);
  ~ChildProcess();  // SIGKILLs the child if it is still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // Next line of captured stdout, or nullopt at EOF or when the deadline passes.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Everything left on captured stdout until EOF.
  std::string ReadAll();
  bool Signal(int signal);
  // Exit code (or 128+signal); nullopt if still running after timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::optional<int> exit_code_;
};

// Result of running a command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout
};
CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         const std::map<std::string, std::string>& extra_env = {});

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreePort();

// Polls `condition` until it is true or the deadline passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A fresh directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& content);

}  // namespace herald::testing
