// `herald certificates`: CSV + events.txt + SVG template -> one PDF per eligible
// attendee in <out>/<event>/, mailed as an attachment. Parses flags, validates
// everything that can be validated before the first send, then hands over to the
// dispatcher and prints the outcome.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <stdexcept>
#include <string>

namespace herald::cli {

struct CertificatesArgs {
  std::string csv_path;
  std::string events_path;
  std::string template_path;
  std::string out_dir;
  std::string smtp_url;
  std::string outbox_dir;
  std::string from;
  std::string subject;
  std::string body_file;
  std::string data_dir;
  std::string queue_kind;
  std::string amqp_url;
  std::string date;
  std::string config_file;
  std::string retry;  // comma-separated: failed, dead, unknown
  int concurrency = -1;
  bool dry_run = false;
  bool json = false;
  bool everyone_eligible = false;
  bool quiet = false;
  // Queue only: herald worker --lanes certificates processes deliver; this run waits for them.
  bool no_deliver = false;
};

void AddCertificatesCommand(CLI::App& app, CertificatesArgs& args);
int RunCertificates(const CertificatesArgs& args);

// Exit codes, documented in the README.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntimeError = 1;
inline constexpr int kExitInputError = 2;
inline constexpr int kExitDeliveryProblems = 3;
inline constexpr int kExitInterrupted = 130;

// Thrown for problems found before anything is sent or served (bad flags, config,
// input files); commands exit with kExitInputError.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Runs a command's body: what it throws becomes "error: ..." on stderr and the
// exit code (kExitInputError for an InputError, kExitRuntimeError otherwise).
int ReportingErrors(const std::function<int()>& command);

}  // namespace herald::cli
