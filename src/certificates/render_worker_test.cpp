// IsolatedPdfRenderer with the real worker (`herald render-worker`): the
// certificates it makes, and what a render past its deadline or its memory
// costs (that render only).
#include "certificates/render_worker.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "tests/support/process.hpp"

namespace herald::certificates {
namespace {

using namespace std::chrono_literals;
using herald::testing::ReadFile;

const std::vector<std::string> kWorker = {HERALD_BINARY, "render-worker"};

std::string Example(const std::string& name) {
  auto svg = ReadFile(std::string(HERALD_SOURCE_DIR) + "/examples/certificates/template.svg");
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"{{student_name}}", name}, {"{{event_name}}", "Go Workshop"}, {"{{date}}", "1 December 2026"},
           {"{{certificate_id}}", "7F3A-19C2-B04E"}, {"{{hours}}", "12"}}) {
    for (auto pos = svg.find(from); pos != std::string::npos; pos = svg.find(from, pos + to.size())) {
      svg.replace(pos, from.size(), to);
    }
  }
  return svg;
}

// An internal entity used 50,000 times: in process, librsvg spends about 46 s
// and 4.4 GB on it before aborting (the template loader refuses entities; the
// renderer is the last bound).
std::string EntityBomb() {
  std::string svg = "<?xml version=\"1.0\"?>\n<!DOCTYPE svg [<!ENTITY a \"" + std::string(2000, 'A') +
                    "\">]>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"100\"><text x=\"0\" "
                    "y=\"50\">";
  for (int i = 0; i < 50000; ++i) svg += "&a;";
  return svg + "</text></svg>";
}

void ExpectCertificate(const Result<std::string>& pdf) {
  ASSERT_TRUE(pdf) << pdf.error().code << ": " << pdf.error().message;
  EXPECT_EQ(pdf->rfind("%PDF-", 0), 0u);
  EXPECT_GT(pdf->size(), 1000u);
}

TEST(IsolatedPdfRenderer, MakesTheSameCertificatesAndKeepsItsWorker) {
  IsolatedPdfRenderer isolated(kWorker, 1, {});
  InProcessPdfRenderer in_process;
  const auto pdf = isolated.Render(Example("Ada Lovelace"), {.title = "Certificate"});
  ExpectCertificate(pdf);
  const auto again = isolated.Render(Example("Alan Turing"));
  ExpectCertificate(again);
  EXPECT_EQ(isolated.WorkersStarted(), 1);
  // Same renderer underneath: the same size, give or take the creation date.
  const auto direct = in_process.Render(Example("Ada Lovelace"), {.title = "Certificate"});
  ASSERT_TRUE(direct);
  EXPECT_NEAR(static_cast<double>(pdf->size()), static_cast<double>(direct->size()), 64.0);

  const auto broken = isolated.Render("this is not SVG");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, "pdf.invalid_svg");
  EXPECT_FALSE(broken.error().message.empty());
  ExpectCertificate(isolated.Render(Example("Grace Hopper")));
  EXPECT_EQ(isolated.WorkersStarted(), 1) << "an answered error keeps the worker";
}

TEST(IsolatedPdfRenderer, ARenderPastItsDeadlineFailsAloneAndTheNextGetsAFreshWorker) {
  IsolatedPdfRenderer renderer(kWorker, 1, {.timeout = 1s, .memory_bytes = std::size_t{8} << 30});
  ExpectCertificate(renderer.Render(Example("Ada Lovelace")));  // the worker is up and warm
  const auto start = std::chrono::steady_clock::now();
  const auto poison = renderer.Render(EntityBomb());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(poison);
  EXPECT_EQ(poison.error().code, "pdf.render_timeout") << poison.error().message;
  EXPECT_NE(poison.error().message.find("1 s"), std::string::npos) << poison.error().message;
  EXPECT_LT(took, 10s);
  ExpectCertificate(renderer.Render(Example("Alan Turing")));
  EXPECT_EQ(renderer.WorkersStarted(), 2);
}

TEST(IsolatedPdfRenderer, ARenderPastItsMemoryFailsAloneAndTheNextGetsAFreshWorker) {
  IsolatedPdfRenderer renderer(kWorker, 1, {.timeout = 120s, .memory_bytes = std::size_t{512} << 20});
  const auto start = std::chrono::steady_clock::now();
  const auto poison = renderer.Render(EntityBomb());
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(poison);
  EXPECT_EQ(poison.error().code, "pdf.render_crashed") << poison.error().message;
  EXPECT_NE(poison.error().message.find("512 MiB"), std::string::npos) << poison.error().message;
  EXPECT_LT(took, 60s);
  ExpectCertificate(renderer.Render(Example("Grace Hopper")));
  EXPECT_EQ(renderer.WorkersStarted(), 2);
}

TEST(IsolatedPdfRenderer, ConcurrentRendersShareAtMostTheirWorkers) {
  IsolatedPdfRenderer renderer(kWorker, 2, {});
  std::vector<std::future<Result<std::string>>> renders;
  for (int i = 0; i < 8; ++i) {
    renders.push_back(std::async(std::launch::async, [&renderer, i] {
      return renderer.Render(Example("Student " + std::to_string(i)));
    }));
  }
  for (auto& render : renders) ExpectCertificate(render.get());
  EXPECT_GE(renderer.WorkersStarted(), 1);
  EXPECT_LE(renderer.WorkersStarted(), 2);
}

// The workers whose command line holds `token` (their unique memory limit).
std::vector<pid_t> WorkersWith(const std::string& token) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string command((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(command.begin(), command.end(), '\0', ' ');
    if (command.find("render-worker") != std::string::npos && command.find(token) != std::string::npos) {
      out.push_back(static_cast<pid_t>(std::stoi(name)));
    }
  }
  return out;
}

TEST(IsolatedPdfRenderer, AWorkerGetsNoneOfHeraldsFilesAndOneThatDiedIdleIsReplaced) {
  // Not close-on-exec, as Asio's sockets are not.
  int leaked[2];
  ASSERT_EQ(::pipe(leaked), 0);
  const std::size_t memory = (std::size_t{1} << 30) + 4242;
  IsolatedPdfRenderer renderer(kWorker, 1, {.memory_bytes = memory});
  ExpectCertificate(renderer.Render(Example("Ada Lovelace")));
  const auto workers = WorkersWith(std::to_string(memory));
  ASSERT_EQ(workers.size(), 1u);
  std::vector<std::string> fds;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(workers[0]) + "/fd")) {
    fds.push_back(fd.path().filename().string() + " -> " + std::filesystem::read_symlink(fd.path()).string());
  }
  EXPECT_EQ(fds.size(), 4u) << "stdin (/dev/null), stdout and stderr, and the socket to herald";
  const auto leaked_pipe = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(leaked[0])).string();
  for (const auto& fd : fds) EXPECT_EQ(fd.find(leaked_pipe), std::string::npos) << fd;
  ::close(leaked[0]);
  ::close(leaked[1]);

  // SIGTERM ends an idle worker (herald's blocked signals are not inherited);
  // the next certificate notices and goes to a new one instead of failing.
  ASSERT_EQ(::kill(workers[0], SIGTERM), 0);
  // A dead worker's command line reads empty (a zombie until herald reaps it).
  ASSERT_TRUE(herald::testing::WaitFor([&] { return WorkersWith(std::to_string(memory)).empty(); }, 10s));
  std::this_thread::sleep_for(200ms);  // its memory goes before its files do: let the exit finish
  ExpectCertificate(renderer.Render(Example("Alan Turing")));
  EXPECT_EQ(renderer.WorkersStarted(), 2);
}

TEST(IsolatedPdfRenderer, AWorkerThatCannotStartIsAnErrorNamingIt) {
  IsolatedPdfRenderer renderer({"/nonexistent/herald", "render-worker"}, 1, {});
  const auto pdf = renderer.Render(Example("Ada Lovelace"));
  ASSERT_FALSE(pdf);
  EXPECT_EQ(pdf.error().code, "pdf.render_worker");
  EXPECT_NE(pdf.error().message.find("/nonexistent/herald"), std::string::npos) << pdf.error().message;
}

}  // namespace
}  // namespace herald::certificates
