// Entry point: parses the command line and runs one subcommand. The only code
// that is not shared with tests.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "certificates/render_worker.hpp"
#include "cli/certificates_command.hpp"
#include "cli/serve_command.hpp"
#include "config/herald_config.hpp"

namespace {

int PrintConfig(const std::string& file) {
  auto config = herald::config::LoadConfig(file, herald::config::ProcessEnvironment(),
                                           herald::config::ProcessEnvironmentNames());
  if (!config) {
    std::cerr << "error: " << config.error().message << "\n";
    return herald::cli::kExitInputError;
  }
  std::cout << herald::config::DescribeConfig(*config);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // stdout carries results (tables, JSON, keys); logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("herald"));
  CLI::App app{"Herald: self-hosted notification and certificate dispatch"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("herald ") + HERALD_VERSION);

  herald::cli::CertificatesArgs certificates;
  herald::cli::AddCertificatesCommand(app, certificates);

  herald::cli::ServeArgs serve;
  herald::cli::AddServeCommand(app, serve);
  herald::cli::ServeArgs api;
  herald::cli::AddApiCommand(app, api);
  herald::cli::WorkerArgs worker;
  herald::cli::AddWorkerCommand(app, worker);
  herald::cli::KeysArgs keys;
  herald::cli::AddKeysCommand(app, keys);
  herald::cli::MigrateArgs migrate;
  herald::cli::AddMigrateCommand(app, migrate);

  std::string config_file;
  auto* config_cmd = app.add_subcommand("config", "Print the effective configuration (secrets masked)");
  config_cmd->add_option("--config", config_file, "TOML configuration file");

  // Started by `herald certificates` itself (one per render thread); not for people.
  std::size_t render_memory_limit = 0;
  int render_seconds = 0;
  auto* render_worker = app.add_subcommand("render-worker", "")->group("");
  render_worker->add_option("--memory-limit", render_memory_limit, "address-space limit in bytes")->required();
  render_worker->add_option("--render-seconds", render_seconds, "deadline of one render");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : herald::cli::kExitInputError;
  }
  if (app.got_subcommand("render-worker")) return herald::certificates::RunRenderWorker(render_memory_limit, render_seconds);
  if (app.got_subcommand("certificates")) return herald::cli::RunCertificates(certificates);
  if (app.got_subcommand("config")) return PrintConfig(config_file);
  if (app.got_subcommand("serve")) return herald::cli::RunServe(serve);
  if (app.got_subcommand("api")) return herald::cli::RunApi(api);
  if (app.got_subcommand("worker")) return herald::cli::RunWorker(worker);
  if (app.got_subcommand("keys")) return herald::cli::RunKeys(app, keys);
  if (app.got_subcommand("migrate")) return herald::cli::RunMigrate(migrate);
  return herald::cli::kExitInputError;
}
