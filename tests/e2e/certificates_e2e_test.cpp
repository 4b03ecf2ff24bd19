// End-to-end tests of `herald certificates`: the real binary against a real SMTP
// server (aiosmtpd) on loopback, asserting on what the server received.
#include <algorithm>

#include "tests/e2e/certificates_fixture.hpp"

namespace herald::testing {
namespace {

TEST_F(CertificatesE2E, SendsOneCertificatePerStudentWithTheSavedPdfAttached) {
  WriteStudents(10);
  SmtpCaptureServer smtp(dir_.path() + "/received");
  const auto run = Run({"--smtp", smtp.url(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto summary = json::parse(run.output);
  EXPECT_EQ(summary["sent_this_run"], 20);

  const auto received = ReceivedPerRecipient(smtp.store_dir());
  ASSERT_EQ(received.size(), expected_.size());
  for (const auto& email : expected_) EXPECT_EQ(received.at(email), 1) << email;

  // Every attachment is byte-identical to a PDF saved in the event's folder.
  std::set<std::string> saved_hashes;
  for (const auto& folder : {"go-workshop", "ai-ml-bootcamp"}) {
    int pdfs = 0;
    for (const auto& entry : fs::directory_iterator(out_dir() + "/" + folder)) {
      if (entry.path().extension() == ".pdf") {
        ++pdfs;
        const auto hash = RunCommand({"sha256sum", entry.path().string()}, seconds(10)).output.substr(0, 64);
        saved_hashes.insert(hash);
      }
    }
    EXPECT_EQ(pdfs, 10) << folder;
  }
  const auto messages = Inspect(smtp.store_dir());
  ASSERT_EQ(messages.size(), 20u);
  for (const auto& message : messages) {
    EXPECT_TRUE(message["defects"].empty()) << message.dump();
    EXPECT_FALSE(message["bare_lf"].get<bool>());
    EXPECT_EQ(message["from"], "Events <events@example.org>");
    ASSERT_EQ(message["attachments"].size(), 1u);
    EXPECT_EQ(message["attachments"][0]["content_type"], "application/pdf");
    EXPECT_TRUE(saved_hashes.contains(message["attachments"][0]["sha256"].get<std::string>()));
    EXPECT_NE(message["subject"].get<std::string>().find("Your certificate for"), std::string::npos);
    EXPECT_FALSE(message["message_id"].get<std::string>().empty());
  }
}

TEST_F(CertificatesE2E, ALineBreakInTheSubjectOrInItsDateStopsTheRunBeforeAnySend) {
  WriteStudents(2);
  SmtpCaptureServer smtp(dir_.path() + "/received");
  const auto subject = Run({"--smtp", smtp.url(), "--subject", "Hi\r\nBcc: everyone@example.org"});
  EXPECT_EQ(subject.exit_code, 2) << subject.errors;
  EXPECT_NE(subject.errors.find("--subject / certificates.subject: contains a line break"), std::string::npos)
      << subject.errors;
  const auto date = Run({"--smtp", smtp.url(), "--subject", "Your certificate of {{date}}", "--date", "1 Dec\nX-Evil: 1"});
  EXPECT_EQ(date.exit_code, 2) << date.errors;
  EXPECT_NE(date.errors.find("--date / certificates.date: contains a line break, and the subject uses {{date}}"),
            std::string::npos)
      << date.errors;
  EXPECT_EQ(smtp.MessageCount(), 0);
  // Where only the body and the certificate use the date, a line break is only text.
  const auto body_only = Run({"--smtp", smtp.url(), "--date", "1 December\n2026"});
  EXPECT_EQ(body_only.exit_code, 0) << body_only.errors;
  EXPECT_EQ(smtp.MessageCount(), 4);
}

TEST_F(CertificatesE2E, InputsThatNeverEndAreRefusedNamingTheFile) {
  WriteStudents(1);
  const auto started = std::chrono::steady_clock::now();
  for (const auto& [flag, message] : {std::pair<std::string, std::string>{"--csv", "/dev/zero:1: a record longer than"},
                                      {"--events", "/dev/zero: larger than"},
                                      {"--template", "template /dev/zero: larger than"},
                                      {"--body", "body template /dev/zero: larger than"}}) {
    auto argv = Args({});
    if (const auto it = std::find(argv.begin(), argv.end(), flag); it != argv.end()) {
      *std::next(it) = "/dev/zero";
    } else {
      argv.insert(argv.end(), {flag, "/dev/zero"});
    }
    const auto stderr_path = dir_.path() + "/stderr.txt";
    ChildProcess herald({.argv = argv, .stderr_path = stderr_path});
    herald.ReadAll();
    EXPECT_EQ(herald.Wait(seconds(60)), 2) << flag << ": " << ReadFile(stderr_path);
    EXPECT_NE(ReadFile(stderr_path).find(message), std::string::npos) << flag << ": " << ReadFile(stderr_path);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(60));
}

TEST_F(CertificatesE2E, HostileTemplatesSettingsAndPathsAreRefusedBeforeAnythingIsSent) {
  WriteStudents(1);
  SmtpCaptureServer smtp(dir_.path() + "/received");
  // Runs with `flag` set to `value` (replacing the fixture's own value, if any).
  auto run_with = [&](const std::vector<std::pair<std::string, std::string>>& changes) {
    auto argv = Args({"--smtp", smtp.url()});
    for (const auto& [flag, value] : changes) {
      if (const auto it = std::find(argv.begin(), argv.end(), flag); it != argv.end()) {
        *std::next(it) = value;
      } else {
        argv.insert(argv.end(), {flag, value});
      }
    }
    const auto stderr_path = dir_.path() + "/stderr.txt";
    ChildProcess herald({.argv = argv, .stderr_path = stderr_path});
    herald.ReadAll();
    return std::pair(herald.Wait(seconds(60)).value_or(-1), ReadFile(stderr_path));
  };
  auto expect_refused = [&](const std::vector<std::pair<std::string, std::string>>& changes,
                            const std::string& message) {
    const auto started = std::chrono::steady_clock::now();
    const auto [code, errors] = run_with(changes);
    EXPECT_EQ(code, 2) << message << ": " << errors;
    EXPECT_NE(errors.find(message), std::string::npos) << errors;
    EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(5)) << message;
  };

  WriteFile(dir_.path() + "/entity.svg",
            "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaa\">]>"
            "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>&a;&a;&a; {{student_name}}</text></svg>");
  expect_refused({{"--template", dir_.path() + "/entity.svg"}}, "declares an XML entity");
  expect_refused({{"--smtp", "smtp://127.0.0.1:99999"}}, "--smtp / smtp.url:");
  expect_refused({{"--smtp", "ftp://127.0.0.1"}}, "--smtp / smtp.url:");
  expect_refused({{"--concurrency", "100000"}}, "--concurrency 100000: at most 64");

  WriteFile(dir_.path() + "/a-file", "x");
  expect_refused({{"--out", dir_.path() + "/a-file"}}, "is not a folder");
  fs::create_symlink(dir_.path() + "/nowhere", dir_.path() + "/dangling");
  expect_refused({{"--out", dir_.path() + "/dangling"}}, "which does not exist");

  // Links planted inside --out are not followed.
  fs::create_directories(out_dir());
  WriteFile(dir_.path() + "/victim.txt", "keep me");
  fs::create_symlink(dir_.path() + "/victim.txt", out_dir() + "/rejected-rows.csv");
  expect_refused({}, "rejected-rows.csv: is a symbolic link");
  EXPECT_EQ(ReadFile(dir_.path() + "/victim.txt"), "keep me");
  fs::remove(out_dir() + "/rejected-rows.csv");
  fs::create_directories(dir_.path() + "/elsewhere");
  fs::create_symlink(dir_.path() + "/elsewhere", out_dir() + "/go-workshop");
  expect_refused({}, "go-workshop: is a symbolic link");
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/elsewhere"));
  EXPECT_EQ(smtp.MessageCount(), 0);

  // With the link gone the same run goes through.
  fs::remove(out_dir() + "/go-workshop");
  const auto [code, errors] = run_with({});
  EXPECT_EQ(code, 0) << errors;
  EXPECT_EQ(smtp.MessageCount(), 2);
}

TEST_F(CertificatesE2E, RunningTheSameCommandAgainSendsNothingNew) {
  WriteStudents(5);
  SmtpCaptureServer smtp(dir_.path() + "/received");
  ASSERT_EQ(Run({"--smtp", smtp.url()}).exit_code, 0);
  ASSERT_EQ(smtp.MessageCount(), 10);
  const auto again = Run({"--smtp", smtp.url(), "--json"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(json::parse(again.output)["sent_this_run"], 0);
  EXPECT_EQ(smtp.MessageCount(), 10);
}

TEST_F(CertificatesE2E, TemporaryFailuresAreRetriedUntilAccepted) {
  WriteStudents(3);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--fail-first", "4"});
  const auto run = Run({"--smtp", smtp.url(), "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  EXPECT_EQ(received.size(), 6u);
  for (const auto& [email, count] : received) EXPECT_EQ(count, 1) << email;
  int retried = 0;
  const auto summary = json::parse(run.output);
  for (const auto& event : summary["events"]) retried += event["this_run"]["retried"].get<int>();
  EXPECT_EQ(retried, 4) << run.output;
}

TEST_F(CertificatesE2E, PermanentRefusalFailsThatRecipientOnly) {
  WriteStudents(3);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--reject", "s1-e0@"});
  const auto run = Run({"--smtp", smtp.url(), "--json"});
  EXPECT_EQ(run.exit_code, 3) << run.output;
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  EXPECT_EQ(received.size(), 5u);
  EXPECT_FALSE(received.contains("s1-e0@example.org"));
  const auto summary = json::parse(run.output);
  EXPECT_EQ(summary["events"][0]["failed"], 1);
}

TEST_F(CertificatesE2E, RetryOnRequestSendsWhatFailedAndOnlyThat) {
  WriteStudents(3);
  {
    // The relay refuses one recipient: that certificate ends failed, and a plain re-run leaves it so.
    SmtpCaptureServer refusing(dir_.path() + "/refused", {"--reject", "s1-e0@"});
    EXPECT_EQ(Run({"--smtp", refusing.url(), "--json"}).exit_code, 3);
    const auto again = Run({"--smtp", refusing.url(), "--json"});
    EXPECT_EQ(json::parse(again.output)["sent_this_run"], 0) << again.output;
  }
  SmtpCaptureServer smtp(dir_.path() + "/received");
  const auto bad = Run({"--smtp", smtp.url(), "--retry", "failed,sent"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.errors.find("--retry: \"sent\" is not one of failed, dead, unknown"), std::string::npos) << bad.errors;
  const auto retried = Run({"--smtp", smtp.url(), "--retry", "failed,dead", "--json"});
  ASSERT_EQ(retried.exit_code, 0) << retried.output;
  const auto summary = json::parse(retried.output);
  EXPECT_EQ(summary["requeued"], 1);
  EXPECT_EQ(summary["sent_this_run"], 1);
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received.begin()->first, "s1-e0@example.org");
  // Its PDF was not rendered again: the one the first run saved went out.
  EXPECT_EQ(summary["events"][0]["rendered"], 0) << retried.output;
}

TEST_F(CertificatesE2E, ConnectionLostAfterDataIsUnknownAndNeverResent) {
  WriteStudents(2);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--drop-after-data", "1"});
  const auto first = Run({"--smtp", smtp.url(), "--json"});
  EXPECT_EQ(first.exit_code, 3) << first.output;
  int unknown = 0;
  const auto summary = json::parse(first.output);
  for (const auto& event : summary["events"]) unknown += event["unknown"].get<int>();
  EXPECT_EQ(unknown, 1);
  const auto second = Run({"--smtp", smtp.url(), "--json"});
  EXPECT_EQ(json::parse(second.output)["sent_this_run"], 0);
  EXPECT_EQ(smtp.MessageCount(), 3);  // the dropped one was not stored by the server and is not resent
}

TEST_F(CertificatesE2E, KilledMidRunThenRerunDeliversExactlyOnceExceptUnknown) {
  WriteStudents(40);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "20"});
  {
    ChildProcess herald({.argv = Args({"--smtp", smtp.url(), "--concurrency", "2"}),
                         .extra_env = {{"HERALD_CERTIFICATES_RETRY_BASE_DELAY_MS", "50"},
                                       {"HERALD_SMTP_MAX_CONNECTIONS", "2"},
                                       {"HERALD_SMTP_MESSAGES_PER_SESSION", "1"}}});
    ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() >= 15; }, seconds(60)));
    herald.Signal(SIGKILL);
    herald.Wait(seconds(10));
  }
  const auto rerun = Run({"--smtp", smtp.url(), "--json"});
  ASSERT_TRUE(rerun.exit_code == 0 || rerun.exit_code == 3) << rerun.output;
  const auto summary = json::parse(rerun.output);
  const auto unknown = summary["abandoned_unknown"].get<int>();
  EXPECT_LE(unknown, 2);  // at most one per in-flight slot: 2 sessions, 1 message each
  ExpectExactlyOnceExceptUnknown(smtp.store_dir(), unknown);
}

TEST_F(CertificatesE2E, SigtermFinishesInFlightWorkAndTheNextRunCompletesTheRest) {
  WriteStudents(40);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "20"});
  {
    ChildProcess herald({.argv = Args({"--smtp", smtp.url()}), .extra_env = {{"HERALD_CERTIFICATES_RETRY_BASE_DELAY_MS", "50"}}});
    ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() >= 10; }, seconds(60)));
    herald.Signal(SIGTERM);
    const auto code = herald.Wait(seconds(10));
    ASSERT_TRUE(code.has_value()) << "did not stop within 10 s of SIGTERM";
    EXPECT_EQ(*code, 130);
  }
  EXPECT_LT(smtp.MessageCount(), 80);
  const auto rerun = Run({"--smtp", smtp.url()});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  ASSERT_EQ(received.size(), expected_.size());
  for (const auto& [email, count] : received) EXPECT_EQ(count, 1) << email;
}

// Ctrl-C in a terminal signals the whole process group, render workers
// included: they must leave stopping to herald, so no certificate in flight
// fails because its renderer went away.
TEST_F(CertificatesE2E, CtrlCToTheProcessGroupStopsCleanlyWithoutFailingARender) {
  WriteStudents(40);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "20"});
  {
    ChildProcess herald({.argv = Args({"--smtp", smtp.url(), "--concurrency", "2"})});
    ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() >= 10; }, seconds(60)));
    ASSERT_EQ(kill(-herald.pid(), SIGINT), 0);
    const auto code = herald.Wait(seconds(10));
    ASSERT_TRUE(code.has_value()) << "did not stop within 10 s of SIGINT";
    EXPECT_EQ(*code, 130);
  }
  const auto rerun = Run({"--smtp", smtp.url(), "--json"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output << rerun.errors;
  for (const auto& event : json::parse(rerun.output)["events"]) {
    EXPECT_EQ(event["failed"], 0) << event.dump();
    EXPECT_EQ(event["dead"], 0) << event.dump();
  }
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  ASSERT_EQ(received.size(), expected_.size());
  for (const auto& [email, count] : received) EXPECT_EQ(count, 1) << email;
}

TEST_F(CertificatesE2E, RemovedEventLosesItsLaneAndPendingWorkIsCancelled) {
  WriteStudents(30);
  SmtpCaptureServer smtp(dir_.path() + "/received", {"--slow-ms", "30"});
  {
    ChildProcess herald({.argv = Args({"--smtp", smtp.url()})});
    ASSERT_TRUE(WaitFor([&] { return smtp.MessageCount() >= 4; }, seconds(60)));
    herald.Signal(SIGTERM);
    ASSERT_TRUE(herald.Wait(seconds(10)).has_value());
  }
  const int before = smtp.MessageCount();
  WriteFile(dir_.path() + "/events.txt", "Go Workshop\n");
  const auto rerun = Run({"--smtp", smtp.url(), "--json"});
  ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
  const auto summary = json::parse(rerun.output);
  ASSERT_EQ(summary["removed_events"].size(), 1u);
  EXPECT_EQ(summary["removed_events"][0]["event"], "AI/ML Bootcamp");
  EXPECT_GT(summary["removed_events"][0]["cancelled"].get<int>(), 0);
  // The students of the removed event are now rejected rows (unknown event), nothing more is sent to them.
  const auto received = ReceivedPerRecipient(smtp.store_dir());
  for (const auto& [email, count] : received) EXPECT_EQ(count, 1) << email;
  for (int i = 0; i < 30; ++i) EXPECT_EQ(received.count("s" + std::to_string(i) + "-e0@example.org"), 1u);
  EXPECT_GE(smtp.MessageCount(), before);
}

TEST_F(CertificatesE2E, FatalInputErrorsStopBeforeAnythingIsSent) {
  WriteStudents(2);
  SmtpCaptureServer smtp(dir_.path() + "/received");

  WriteFile(dir_.path() + "/template.svg", std::string(kTemplate) + "<!-- {{seat_number}} -->");
  auto run = Run({"--smtp", smtp.url()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.errors.find("{{seat_number}}"), std::string::npos) << run.errors;

  WriteFile(dir_.path() + "/template.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>{{student_name}}</oops>");
  run = Run({"--smtp", smtp.url()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.errors.find("template.svg: the template cannot be rendered"), std::string::npos) << run.errors;

  WriteFile(dir_.path() + "/template.svg", kTemplate);
  WriteFile(dir_.path() + "/students.csv", "event_name,student_name,attended\nGo Workshop,Ann,1\n");
  run = Run({"--smtp", smtp.url()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.errors.find("students.csv:1: required column \"student_email\" is missing"), std::string::npos)
      << run.errors;

  WriteFile(dir_.path() + "/students.csv", "event_name,student_name,student_email\nGo Workshop,Ann,a@x.org\n");
  run = Run({"--smtp", smtp.url()});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.errors.find("no attendance information"), std::string::npos) << run.errors;
  EXPECT_EQ(smtp.MessageCount(), 0);  // nothing was sent by any of the failed runs

  EXPECT_EQ(Run({"--smtp", smtp.url(), "--everyone-eligible"}).exit_code, 0);
  EXPECT_EQ(smtp.MessageCount(), 1);
}

TEST_F(CertificatesE2E, WithoutATerminalProgressIsPlainLinesAndRejectedRowsAreListed) {
  WriteStudents(3);
  WriteFile(dir_.path() + "/students.csv",
            ReadFile(dir_.path() + "/students.csv") + "Go Workshop,Broken,not-an-address,1\n");
  SmtpCaptureServer smtp(dir_.path() + "/received");
  auto args = Args({"--smtp", smtp.url()});
  args.erase(std::find(args.begin(), args.end(), "--quiet"));
  ChildProcess herald({.argv = args, .stderr_path = dir_.path() + "/stderr.txt"});
  const auto output = herald.ReadAll();
  ASSERT_EQ(herald.Wait(seconds(120)), 0) << output;
  const auto errors = ReadFile(dir_.path() + "/stderr.txt");
  EXPECT_NE(errors.find("certificates: 6/6 done (100%)"), std::string::npos) << errors;
  EXPECT_EQ(errors.find('\r'), std::string::npos);  // no redrawn bar in a log file
  EXPECT_NE(errors.find("students.csv:8: skipped (invalid_email)"), std::string::npos) << errors;
  EXPECT_NE(output.find("total"), std::string::npos);
  const auto report = ReadFile(out_dir() + "/rejected-rows.csv");
  EXPECT_NE(report.find(",8,\"invalid_email\",\"student_email\","), std::string::npos) << report;
}

TEST_F(CertificatesE2E, UnreachableBrokerOrBusyDataDirIsARuntimeError) {
  WriteStudents(1);
  SmtpCaptureServer smtp(dir_.path() + "/received");
  const auto broker = "amqp://guest:secret@127.0.0.1:" + std::to_string(FreePort()) + "/%2f";
  auto run = Run({"--smtp", smtp.url(), "--queue", "rabbitmq", "--amqp-url", broker});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.errors.find("RabbitMQ at 127.0.0.1:"), std::string::npos) << run.errors;
  EXPECT_NE(run.errors.find("cannot connect"), std::string::npos) << run.errors;
  EXPECT_EQ(run.errors.find("secret"), std::string::npos);  // never print the password

  // Another process holds the data dir: a second run refuses to share it.
  ChildProcess holder({.argv = {"flock", dir_.path() + "/data/herald.lock", "sleep", "30"}});
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_.path() + "/data/herald.lock"); }, seconds(10)));
  ASSERT_TRUE(WaitFor([&] { return RunCommand({"flock", "-n", dir_.path() + "/data/herald.lock", "true"}, seconds(5))
                                       .exit_code != 0; },
                      seconds(10)));
  run = Run({"--smtp", smtp.url()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.errors.find("is in use by another herald process"), std::string::npos) << run.errors;
  EXPECT_EQ(smtp.MessageCount(), 0);
}

TEST_F(CertificatesE2E, ExampleRunsWithEmbeddedDefaultsIntoTheOutbox) {
  const std::string example = std::string(HERALD_SOURCE_DIR) + "/examples/certificates";
  const std::vector<std::string> argv = {HERALD_BINARY, "certificates",
                                         "--csv", example + "/students.csv",
                                         "--events", example + "/events.txt",
                                         "--template", example + "/template.svg",
                                         "--out", out_dir(),
                                         "--data-dir", dir_.path() + "/data",
                                         "--json"};
  const auto run = RunCommand(argv, seconds(300));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto summary = json::parse(run.output);
  int eligible = 0;
  for (const auto& event : summary["events"]) eligible += event["eligible"].get<int>();
  EXPECT_GT(eligible, 100);
  EXPECT_EQ(summary["sent_this_run"], eligible);
  EXPECT_GT(summary["rejected_rows"].get<int>(), 0);
  const auto messages = Inspect(dir_.path() + "/data/outbox");
  EXPECT_EQ(static_cast<int>(messages.size()), eligible);
  const auto report = ReadFile(out_dir() + "/rejected-rows.csv");
  EXPECT_NE(report.find("line"), std::string::npos);

  const auto again = RunCommand(argv, seconds(300));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(json::parse(again.output)["sent_this_run"], 0);
}

}  // namespace
}  // namespace herald::testing
