#include "cli/certificates_command.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "certificates/certificate_composer.hpp"
#include "certificates/certificate_job.hpp"
#include "certificates/delivery_plan.hpp"
#include "certificates/events_file.hpp"
#include "certificates/render_worker.hpp"
#include "certificates/roster.hpp"
#include "cli/delivery_liveness.hpp"
#include "cli/progress.hpp"
#include "cli/run_guard.hpp"
#include "cli/wiring.hpp"
#include "common/files.hpp"
#include "common/hash.hpp"
#include "common/text.hpp"
#include "config/herald_config.hpp"
#include "dispatch/certificate_dispatcher.hpp"

namespace herald::cli {
namespace {

namespace fs = std::filesystem;
using domain::DeliveryStatus;

// Far above any real template or body; a device or a wrong file stops here.
constexpr std::size_t kMaxTemplateBytes = 16 << 20;
constexpr std::size_t kMaxBodyTemplateBytes = 1 << 20;

constexpr std::string_view kDefaultBody =
    "Dear {{student_name}},\n"
    "\n"
    "thank you for attending {{event_name}}. Your certificate is attached to this e-mail.\n"
    "\n"
    "Certificate ID: {{certificate_id}}\n";


// The whole file, refused past `max_bytes` (a device or a wrong file must not
// take all memory).
std::string ReadText(const std::string& path, const std::string& what, std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read " + what + " " + path + ": " + std::strerror(errno));
  std::string text;
  char chunk[1 << 14];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) {
      throw InputError(what + " " + path + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  if (in.bad()) throw InputError("cannot read " + what + " " + path + ": read error");
  return text;
}

std::string TodayText() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char month_year[48];
  std::strftime(month_year, sizeof month_year, "%B %Y", &local);
  return std::to_string(local.tm_mday) + " " + month_year;
}

config::HeraldConfig LoadEffectiveConfig(const CertificatesArgs& args) {
  std::string file = args.config_file;
  if (file.empty()) {
    if (const char* from_env = std::getenv("HERALD_CONFIG")) file = from_env;
  }
  auto loaded = config::LoadConfig(file, config::ProcessEnvironment(), config::ProcessEnvironmentNames());
  if (!loaded) throw InputError(loaded.error().message);
  auto c = std::move(loaded).value();
  if (!args.data_dir.empty()) c.data.dir = args.data_dir;
  if (!args.smtp_url.empty()) c.smtp.url = args.smtp_url;
  if (!args.queue_kind.empty()) c.queue.kind = args.queue_kind;
  if (!args.amqp_url.empty()) c.queue.amqp_url = args.amqp_url;
  if (!args.from.empty()) c.certificates.from = args.from;
  if (!args.subject.empty()) c.certificates.subject = args.subject;
  if (!args.body_file.empty()) c.certificates.body_file = args.body_file;
  if (!args.outbox_dir.empty()) c.certificates.outbox_dir = args.outbox_dir;
  if (!args.date.empty()) c.certificates.date = args.date;
  if (args.concurrency >= 0) {
    // Checked here: the file's and environment's value were validated on load, the flag was not.
    if (args.concurrency > config::kMaxCertificateConcurrency) {
      throw InputError("--concurrency " + std::to_string(args.concurrency) + ": at most " +
                       std::to_string(config::kMaxCertificateConcurrency) +
                       " certificates are rendered at once (0: one per core)");
    }
    c.certificates.concurrency = args.concurrency;
  }
  if (c.queue.kind != "embedded" && c.queue.kind != "rabbitmq") {
    throw InputError("--queue must be embedded or rabbitmq, got \"" + c.queue.kind + "\"");
  }
  return c;
}

// --retry failed,dead[,unknown]: the ended states to send again. An unknown send
// may have arrived, so it is only retried when named.
std::vector<DeliveryStatus> ParseRetry(const std::string& list) {
  std::vector<DeliveryStatus> statuses;
  if (list.empty()) return statuses;
  for (const auto& item : text::Split(list, ',')) {
    const auto name = std::string(text::Trim(item));
    const auto status = domain::ParseDeliveryStatus(name);
    if (!status || (*status != DeliveryStatus::kFailed && *status != DeliveryStatus::kDead &&
                    *status != DeliveryStatus::kUnknown)) {
      throw InputError("--retry: \"" + name + "\" is not one of failed, dead, unknown (e.g. --retry failed,dead)");
    }
    if (std::find(statuses.begin(), statuses.end(), *status) == statuses.end()) statuses.push_back(*status);
  }
  return statuses;
}

templating::Template ParseTemplate(const std::string& text, const std::string& source) {
  auto parsed = templating::Template::Parse(text, source);
  if (!parsed) throw InputError(parsed.error().message);
  return std::move(parsed).value();
}

// An SVG template may not declare XML entities: one entity used thousands of
// times expands without bound inside the renderer.
void RefuseEntityDeclarations(const std::string& svg, const std::string& source) {
  if (svg.find("<!ENTITY") != std::string::npos) {
    throw InputError(source + ": declares an XML entity (<!ENTITY ...>); certificate templates may not, "
                              "as entities can expand without bound");
  }
}

// The --out folder itself may be a link to a folder; anything but a folder is refused.
void CheckOutputFolder(const std::string& out_dir) {
  std::error_code error;
  const auto link = fs::symlink_status(out_dir, error);
  if (fs::is_symlink(link) && !fs::exists(out_dir, error)) {
    throw InputError("--out " + out_dir + ": is a link to " + fs::read_symlink(out_dir, error).string() +
                     ", which does not exist");
  }
  if (fs::exists(out_dir, error) && !fs::is_directory(out_dir, error)) {
    throw InputError("--out " + out_dir + ": is not a folder");
  }
}

// Inside --out, links are not followed: a link planted there must not redirect
// the report or the PDFs elsewhere. Event folders that exist must be real folders.
void CheckNoLinksInside(const std::string& out_dir, const std::vector<certificates::Event>& events) {
  auto refuse_link = [](const fs::path& path, const std::string& what) {
    std::error_code error;
    const auto status = fs::symlink_status(path, error);
    if (fs::is_symlink(status)) {
      throw InputError(path.string() + ": is a symbolic link; refusing to write the " + what + " through it");
    }
    if (fs::exists(status) && what == "event's certificates" && !fs::is_directory(status)) {
      throw InputError(path.string() + ": is not a folder; it would hold the " + what);
    }
  };
  refuse_link(fs::path(out_dir) / "rejected-rows.csv", "rejected rows");
  for (const auto& event : events) refuse_link(fs::path(out_dir) / event.slug, "event's certificates");
}

// Every placeholder must have a source of values, or the job stops before the first send.
void CheckPlaceholders(const templating::Template& tpl, const std::string& source,
                       const std::set<std::string>& available) {
  for (const auto& name : tpl.Placeholders()) {
    if (available.contains(name)) continue;
    std::string known;
    for (const auto& a : available) known += (known.empty() ? "" : ", ") + a;
    throw InputError(source + ": placeholder {{" + name +
                     "}} has no value: it is neither a CSV column nor a built-in variable (available: " + known + ")");
  }
}

// Values that go into every e-mail's headers are checked once, before anything
// is sent: one bad value would fail every delivery of the run.
void CheckRunWideHeaderValues(const std::string& subject, const templating::Template& subject_template,
                              const std::string& date_text) {
  if (const auto bad = certificates::LineBreakIn(subject); !bad.empty()) {
    throw InputError("--subject / certificates.subject: contains " + bad + "; a subject is one line");
  }
  const auto& names = subject_template.Placeholders();
  if (std::find(names.begin(), names.end(), "date") != names.end()) {
    if (const auto bad = certificates::LineBreakIn(date_text); !bad.empty()) {
      throw InputError("--date / certificates.date: contains " + bad +
                       ", and the subject uses {{date}}; a subject is one line");
    }
  }
}

void WriteRejectedReport(const std::string& path, const std::string& csv_path,
                         const std::vector<certificates::RejectedRow>& rejected) {
  auto quote = [](const std::string& s) {
    std::string q = "\"";
    for (char c : s) {
      if (c == '"') q += '"';
      q += c;
    }
    return q + "\"";
  };
  std::string report = "file,line,code,field,reason\n";
  for (const auto& row : rejected) {
    report += quote(csv_path) + ',' + std::to_string(row.line) + ',' + quote(row.code) + ',' + quote(row.field) + ',' +
              quote(row.reason) + '\n';
  }
  fs::create_directories(fs::path(path).parent_path());
  // O_NOFOLLOW: a link planted at the report's name after the check is refused too.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("cannot write " + path + ": " + std::strerror(errno));
  if (!WriteAll(fd, report)) {
    const int error = errno;
    ::close(fd);
    throw std::runtime_error("cannot write " + path + ": " + std::strerror(error));
  }
  ::close(fd);
}

struct EventReport {
  std::string name;
  std::string slug;
  std::int64_t eligible = 0;
  std::int64_t rejected = 0;
  std::int64_t not_attended = 0;
  dispatch::EventCounters run;
  store::StatusCounts totals;
};

std::int64_t CountOf(const store::StatusCounts& counts, DeliveryStatus status) {
  auto it = counts.find(status);
  return it == counts.end() ? 0 : it->second;
}

// --no-deliver: herald worker processes deliver; this run watches the store
// until nothing of the listed events is queued or being sent, and reports what
// ended since `before` (counted before the run queued anything: workers start
// at once) as the run's work. Only Ctrl-C ends the wait early: the workers go on.
dispatch::DeliveryRun WaitForWorkers(store::CertificateStore& store, const std::vector<dispatch::ActiveEvent>& active,
                                     const std::map<std::string, store::StatusCounts>& before,
                                     const std::atomic<bool>& stop, ProgressDisplay& progress, bool quiet) {
  using std::chrono::steady_clock;
  constexpr auto kQuietFor = std::chrono::seconds(60);
  const auto started = steady_clock::now();
  // How many of the event's rows ended in `status` since `before` (never fewer
  // than none: another run may have queued some of them again meanwhile).
  const auto ended_since = [&before](const std::map<std::string, store::StatusCounts>& now, const std::string& slug,
                                     DeliveryStatus status) {
    const auto was = before.find(slug);
    const auto is = now.find(slug);
    return std::max<std::int64_t>(0, (is == now.end() ? 0 : CountOf(is->second, status)) -
                                         (was == before.end() ? 0 : CountOf(was->second, status)));
  };
  std::int64_t shown = 0;
  auto last_change = steady_clock::now();
  std::string last_error;
  dispatch::DeliveryRun run;
  for (;;) {
    std::int64_t open = 0;
    std::map<std::string, store::StatusCounts> now;
    try {
      for (const auto& event : active) open += store.OpenCount(event.slug);
      now = store.CountByEvent();
      last_error.clear();
    } catch (const std::exception& e) {
      // The store restarting: the workers wait for it too; look again.
      if (!quiet && last_error != e.what()) std::cerr << "\nwaiting: cannot read the store: " << e.what() << "\n";
      last_error = e.what();
      for (int i = 0; i < 20 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (stop.load()) break;
      continue;
    }
    std::int64_t ended = 0;
    std::int64_t sent = 0;
    for (const auto& event : active) {
      auto& counters = run.per_event[event.slug];
      counters.sent = ended_since(now, event.slug, DeliveryStatus::kSent);
      counters.failed = ended_since(now, event.slug, DeliveryStatus::kFailed);
      counters.dead = ended_since(now, event.slug, DeliveryStatus::kDead);
      counters.unknown = ended_since(now, event.slug, DeliveryStatus::kUnknown);
      ended += counters.sent + counters.failed + counters.dead + counters.unknown;
      sent += counters.sent;
    }
    if (ended > shown) last_change = steady_clock::now();
    for (; shown < ended; ++shown) progress.Count(true, shown < sent);
    if (open == 0 || stop.load()) break;
    if (!quiet && steady_clock::now() - last_change > kQuietFor) {
      last_change = steady_clock::now();  // said again after as long again
      std::cerr << "\nwaiting: no certificate ended in the last " << kQuietFor.count() << " s (" << open
                << " still open); is a `herald worker --lanes certificates` running on this store and broker? "
                   "Ctrl-C stops waiting, not the workers\n";
    }
    for (int i = 0; i < 5 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  run.interrupted = stop.load();
  run.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(steady_clock::now() - started);
  return run;
}


void PrintTable(std::ostream& out, const std::vector<EventReport>& events) {
  out << fmt::format("{:<32} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n", "event", "eligible", "rejected", "rendered",
                     "sent", "failed", "unknown", "queued");
  EventReport total{.name = "total"};
  auto row = [&out](const EventReport& e) {
    std::string name = e.name;
    if (name.size() > 32) name = name.substr(0, 29) + "...";
    out << fmt::format("{:<32} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}\n", name, e.eligible, e.rejected,
                       e.run.rendered, CountOf(e.totals, DeliveryStatus::kSent),
                       CountOf(e.totals, DeliveryStatus::kFailed) + CountOf(e.totals, DeliveryStatus::kDead),
                       CountOf(e.totals, DeliveryStatus::kUnknown),
                       CountOf(e.totals, DeliveryStatus::kQueued) + CountOf(e.totals, DeliveryStatus::kSending));
  };
  for (const auto& e : events) {
    row(e);
    total.eligible += e.eligible;
    total.rejected += e.rejected;
    total.run += e.run;
    for (const auto& [status, count] : e.totals) total.totals[status] += count;
  }
  row(total);
}

nlohmann::json ToJson(const EventReport& e) {
  nlohmann::json totals = nlohmann::json::object();
  for (const auto& [status, count] : e.totals) totals[domain::ToString(status)] = count;
  return {{"event", e.name},
          {"slug", e.slug},
          {"eligible", e.eligible},
          {"rejected", e.rejected},
          {"not_attended", e.not_attended},
          {"rendered", e.run.rendered},
          {"sent", CountOf(e.totals, DeliveryStatus::kSent)},
          {"failed", CountOf(e.totals, DeliveryStatus::kFailed)},
          {"dead", CountOf(e.totals, DeliveryStatus::kDead)},
          {"unknown", CountOf(e.totals, DeliveryStatus::kUnknown)},
          {"cancelled", CountOf(e.totals, DeliveryStatus::kCancelled)},
          {"queued", CountOf(e.totals, DeliveryStatus::kQueued) + CountOf(e.totals, DeliveryStatus::kSending)},
          {"this_run", {{"sent", e.run.sent}, {"failed", e.run.failed}, {"unknown", e.run.unknown},
                        {"dead", e.run.dead}, {"retried", e.run.retried}, {"skipped", e.run.skipped}}},
          {"all_runs", totals}};
}

}  // namespace

void AddCertificatesCommand(CLI::App& app, CertificatesArgs& args) {
  auto* cmd = app.add_subcommand("certificates",
                                 "Render a PDF certificate for every eligible attendee and e-mail it as an attachment");
  cmd->add_option("--csv", args.csv_path, "Attendance CSV: event_name, student_name, student_email, attended, ...")
      ->required();
  cmd->add_option("--events", args.events_path, "events.txt: one active event per line")->required();
  cmd->add_option("--template", args.template_path, "SVG certificate template with {{placeholders}}")->required();
  cmd->add_option("--out", args.out_dir, "Output folder; one sub-folder per event")->required();
  cmd->add_option("--smtp", args.smtp_url, "smtp://[user[:pass]@]host[:port][?starttls=required] or smtps://...");
  cmd->add_option("--outbox", args.outbox_dir, "Write .eml files here instead of sending (default <data-dir>/outbox)");
  cmd->add_option("--from", args.from, "Sender, e.g. \"Events Team <events@example.org>\"");
  cmd->add_option("--subject", args.subject, "Subject template (default \"Your certificate for {{event_name}}\")");
  cmd->add_option("--body", args.body_file, "Text body template file");
  cmd->add_option("--data-dir", args.data_dir, "State folder: database, embedded queue, outbox (default herald-data)");
  cmd->add_option("--queue", args.queue_kind, "embedded (default) or rabbitmq");
  cmd->add_option("--amqp-url", args.amqp_url, "RabbitMQ URL for --queue rabbitmq");
  cmd->add_option("--retry", args.retry,
                  "Send again what ended in these states: failed, dead, unknown (e.g. failed,dead; unknown only "
                  "when named, it may have arrived)");
  cmd->add_option("--date", args.date, "Text for {{date}} when the CSV has no date column (default: today)");
  cmd->add_option("--concurrency", args.concurrency,
                  "Certificates rendered at once (default: one per core; at most " +
                      std::to_string(config::kMaxCertificateConcurrency) + ")");
  cmd->add_flag("--dry-run", args.dry_run, "Validate and show the plan; render and send nothing");
  cmd->add_flag("--json", args.json, "Print the summary as JSON on stdout");
  cmd->add_flag("--everyone-eligible", args.everyone_eligible,
                "Treat every listed student as eligible when the CSV has no attendance information");
  cmd->add_flag("--quiet", args.quiet, "No progress display and no per-row messages");
  cmd->add_flag("--no-deliver", args.no_deliver,
                "Queue the certificates and wait while `herald worker --lanes certificates` processes deliver them "
                "(needs --queue rabbitmq and store.kind = postgres); without it this run delivers too");
  cmd->add_option("--config", args.config_file, "TOML configuration file (also HERALD_CONFIG)");
}

int ReportingErrors(const std::function<int()>& command) {
  try {
    return command();
  } catch (const InputError& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitInputError;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitRuntimeError;
  }
}

int RunCertificates(const CertificatesArgs& args) {
  SignalStop signal_stop;  // SIGINT/SIGTERM from here on finish in-flight work, then stop
  return ReportingErrors([&] {
    const auto config = LoadEffectiveConfig(args);
    CheckEmailSettings(config);
    // Other processes deliver from the same store (herald worker on PostgreSQL).
    const bool shared_store = config.store.kind == "postgres";
    if (args.no_deliver && (config.queue.kind != "rabbitmq" || !shared_store)) {
      throw InputError("--no-deliver leaves the delivery to `herald worker --lanes certificates` processes, which "
                       "take it from RabbitMQ and a PostgreSQL store: set --queue rabbitmq (queue.kind) and "
                       "store.kind = \"postgres\" with store.url, or leave --no-deliver out");
    }
    const auto retry_statuses = ParseRetry(args.retry);

    auto events = certificates::LoadEvents(args.events_path);
    if (!events) throw InputError(events.error().message);
    auto roster = certificates::LoadRoster(args.csv_path, *events, {.everyone_eligible = args.everyone_eligible});
    if (!roster) throw InputError(roster.error().message);

    const auto svg_text = ReadText(args.template_path, "template", kMaxTemplateBytes);
    RefuseEntityDeclarations(svg_text, args.template_path);
    auto svg_template = ParseTemplate(svg_text, args.template_path);
    auto subject_template = ParseTemplate(config.certificates.subject, "subject");
    const std::string body_source = config.certificates.body_file.empty() ? "built-in body" : config.certificates.body_file;
    const auto body_text = config.certificates.body_file.empty()
                               ? std::string(kDefaultBody)
                               : ReadText(config.certificates.body_file, "body template", kMaxBodyTemplateBytes);
    auto body_template = ParseTemplate(body_text, body_source);
    std::set<std::string> available(std::begin(certificates::kBuiltinVariables),
                                    std::end(certificates::kBuiltinVariables));
    for (const auto& column : roster->columns) available.insert(column);
    CheckPlaceholders(svg_template, args.template_path, available);
    CheckPlaceholders(subject_template, "subject", available);
    CheckPlaceholders(body_template, body_source, available);

    auto from = mime::ParseMailbox(config.certificates.from);
    if (!from) throw InputError("--from / certificates.from: " + from.error().message);
    const auto date_text = config.certificates.date.empty() ? TodayText() : config.certificates.date;
    CheckRunWideHeaderValues(config.certificates.subject, subject_template, date_text);

    SystemClock clock;
    const auto renderer = MakeCertificateRenderer(config);
    certificates::CertificateComposer composer({std::move(svg_template), std::move(subject_template),
                                                std::move(body_template)},
                                               *from, *renderer, clock);
    if (auto check = composer.CheckTemplate(); !check) {
      throw InputError(args.template_path + ": the template cannot be rendered: " + check.error().message);
    }

    auto planned = certificates::PlanDeliveries(*roster, date_text);
    // Each row's own subject too: a row whose values would break it is
    // rejected with its line, before the first send, and the rest go on.
    std::erase_if(planned, [&](const store::CertificateDelivery& row) {
      auto checked = composer.CheckHeaders(row);
      if (checked) return false;
      roster->rejected.push_back({row.csv_line, "invalid_header", "", checked.error().message});
      auto& counts = roster->per_event[row.event_slug];
      --counts.eligible;
      ++counts.rejected;
      return true;
    });
    std::stable_sort(roster->rejected.begin(), roster->rejected.end(),
                     [](const auto& a, const auto& b) { return a.line < b.line; });
    if (!args.quiet) {
      for (const auto& row : roster->rejected) {
        std::cerr << args.csv_path << ":" << row.line << ": skipped (" << row.code << "): " << row.reason << "\n";
      }
    }
    std::vector<dispatch::ActiveEvent> active;
    for (const auto& event : events->events) active.push_back({event.name, event.slug});

    std::vector<EventReport> reports;
    for (const auto& event : events->events) {
      EventReport report{.name = event.name, .slug = event.slug};
      if (auto it = roster->per_event.find(event.slug); it != roster->per_event.end()) {
        report.eligible = it->second.eligible;
        report.rejected = it->second.rejected;
        report.not_attended = it->second.not_attended;
      }
      reports.push_back(report);
    }

    if (args.dry_run) {
      for (auto& r : reports) r.totals[DeliveryStatus::kQueued] = r.eligible;
      if (args.json) {
        nlohmann::json out{{"dry_run", true}, {"events", nlohmann::json::array()},
                           {"rejected_rows", roster->rejected.size()}};
        for (const auto& r : reports) out["events"].push_back(ToJson(r));
        std::cout << out.dump(2) << "\n";
      } else {
        std::cout << "dry run: nothing rendered or sent\n";
        PrintTable(std::cout, reports);
      }
      return kExitOk;
    }

    CheckOutputFolder(args.out_dir);
    CheckNoLinksInside(args.out_dir, events->events);
    fs::create_directories(args.out_dir);
    const auto report_path = (fs::path(args.out_dir) / "rejected-rows.csv").string();
    WriteRejectedReport(report_path, args.csv_path, roster->rejected);

    const auto db_path = DatabasePath(config);
    DataDirLock lock(config.data.dir);
    const auto stores = OpenStores(config, store::SchemaPolicy::kMigrate, clock);
    // A new file is no news; an upgraded or adopted one is.
    if (const auto& migration = stores->migration();
        (migration.from_version > 0 || migration.adopted_unversioned) && !args.quiet) {
      if (const auto migrated = DescribeMigration(db_path, migration); !migrated.empty()) std::cerr << migrated << "\n";
    }
    auto& store = stores->certificates();
    auto queue = MakeQueue(config, clock);
    const auto outbox = config.certificates.outbox_dir.empty()
                            ? (fs::path(config.data.dir) / "outbox").string()
                            : config.certificates.outbox_dir;
    IoRuntime runtime;
    channels::http::HttpClient http;  // after the runtime: gone before it, so no answer lands on a dead executor
    // With Redis, the providers' rates are shared with the workers taking the same lanes.
    const auto redis = OpenRedis(config, clock);
    SendRates rates(redis.get(), clock);
    auto transport = MakeEmailChannel(config, outbox, runtime, http, rates, clock);

    // The run's id is this process's claimant id: its heartbeat tells herald
    // worker processes on the same store that its sends are under way.
    const auto& run_id = stores->deliveries().claimant();
    std::mutex abandoned_mutex;
    std::vector<store::CertificateDelivery> abandoned;
    const auto report_abandoned = [&](const std::vector<store::CertificateDelivery>& rows) {
      std::lock_guard guard(abandoned_mutex);
      for (const auto& row : rows) {
        std::cerr << "unknown: " << row.email << " (" << row.event_name
                  << "): a run stopped while sending it; not resent, check with the recipient\n";
        abandoned.push_back(row);
      }
    };
    // On SQLite this run is the only one (the data dir lock): what another left
    // sending is resolved now. On PostgreSQL, once its process is seen gone.
    DeliveryLiveness liveness(stores->deliveries(), clock, !shared_store,
                              {ResolveAbandonedCertificates(store, run_id, report_abandoned)});

    dispatch::CertificateDispatcher dispatcher(
        store, *queue, *transport, runtime, composer, clock,
        {.out_dir = args.out_dir,
         .render_threads = config.certificates.concurrency,
         .retry = RetryPolicyOf(config.certificates.retry)});
    // With a broker, the lanes carry the job: herald worker processes deliver them too.
    std::string job;
    if (config.queue.kind == "rabbitmq") {
      job = certificates::ToJson({.svg = svg_text,
                                  .svg_source = fs::absolute(args.template_path).string(),
                                  .subject = config.certificates.subject,
                                  .body = body_text,
                                  .body_source = body_source,
                                  .from = config.certificates.from,
                                  .out_dir = fs::absolute(args.out_dir).lexically_normal().string()});
    }
    const auto sync = dispatcher.SyncLanes(active, job);
    for (const auto& removed : sync.removed) {
      std::cerr << "event removed: \"" << removed.event_name << "\" is no longer in " << args.events_path
                << "; its queue was deleted and " << removed.cancelled << " pending certificates were cancelled\n";
    }
    std::int64_t requeued = 0;
    if (!retry_statuses.empty()) {
      for (const auto& event : active) requeued += store.Requeue(event.slug, retry_statuses);
    }
    if (requeued > 0 && !args.quiet) {
      std::cerr << "retry: " << requeued << " certificate(s) that ended " << args.retry << " are queued again\n";
    }
    // What had ended before this run queued anything: --no-deliver reports the difference.
    const auto ended_before = args.no_deliver ? store.CountByEvent() : std::map<std::string, store::StatusCounts>{};
    dispatcher.Enqueue(planned, active);

    std::int64_t open = 0;
    for (const auto& event : active) open += store.OpenCount(event.slug);
    ProgressDisplay progress("certificates", open, !args.quiet && !args.json);
    const auto run = args.no_deliver
                         ? WaitForWorkers(store, active, ended_before, signal_stop.flag(), progress, args.quiet)
                         : dispatcher.Deliver(active, run_id, signal_stop.flag(), [&](const dispatch::ProgressEvent& e) {
                             const bool final_state = e.status != DeliveryStatus::kQueued;
                             progress.Count(final_state, e.status == DeliveryStatus::kSent);
                             if (!args.quiet && (e.status == DeliveryStatus::kFailed ||
                                                 e.status == DeliveryStatus::kDead ||
                                                 e.status == DeliveryStatus::kUnknown)) {
                               std::cerr << "\n" << domain::ToString(e.status) << " (" << e.event_slug
                                         << "): " << e.detail << "\n";
                             }
                           });
    progress.Finish();

    const auto totals = store.CountByEvent();
    std::int64_t problems = 0;
    for (auto& r : reports) {
      if (auto it = run.per_event.find(r.slug); it != run.per_event.end()) r.run = it->second;
      if (auto it = totals.find(r.slug); it != totals.end()) r.totals = it->second;
      problems += r.run.failed + r.run.dead + r.run.unknown;
    }
    std::size_t abandoned_count = 0;
    {
      std::lock_guard guard(abandoned_mutex);
      abandoned_count = abandoned.size();
    }
    problems += static_cast<std::int64_t>(abandoned_count);
    std::int64_t sent_this_run = 0;
    for (const auto& r : reports) sent_this_run += r.run.sent;
    const double seconds = std::max(0.001, std::chrono::duration<double>(run.elapsed).count());

    if (args.json) {
      nlohmann::json out{{"events", nlohmann::json::array()},
                         {"rejected_rows", roster->rejected.size()},
                         {"rejected_report", report_path},
                         {"removed_events", nlohmann::json::array()},
                         {"abandoned_unknown", abandoned_count},
                         {"requeued", requeued},
                         {"interrupted", run.interrupted},
                         {"sent_this_run", sent_this_run},
                         {"seconds", seconds},
                         {"transport", args.no_deliver ? "herald worker" : transport->Describe()}};
      for (const auto& r : reports) out["events"].push_back(ToJson(r));
      for (const auto& removed : sync.removed) {
        out["removed_events"].push_back({{"event", removed.event_name}, {"slug", removed.slug},
                                         {"cancelled", removed.cancelled}});
      }
      std::cout << out.dump(2) << "\n";
    } else {
      PrintTable(std::cout, reports);
      std::cout << fmt::format("{} sent this run in {:.1f} s ({:.0f}/s) via {}; {} rows rejected (see {})\n",
                               sent_this_run, seconds, static_cast<double>(sent_this_run) / seconds,
                               args.no_deliver ? "herald worker processes" : transport->Describe(),
                               roster->rejected.size(), report_path);
      if (run.interrupted) {
        std::cout << (args.no_deliver ? "interrupted: the workers go on; run the same command again to wait for the "
                                        "rest\n"
                                      : "interrupted: run the same command again to finish the rest\n");
      }
    }
    if (run.interrupted) return kExitInterrupted;
    return problems > 0 ? kExitDeliveryProblems : kExitOk;
  });
}

}  // namespace herald::cli
