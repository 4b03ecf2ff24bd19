// IsolatedPdfRenderer with the real worker (`herald render-worker`): the
// certificates it makes, and what a render past its deadline or its memory
// costs (that render only).
#include "certificates/render_worker.hpp"

#include <gtest/gtest.h>

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

TEST(IsolatedPdfRenderer, AWorkerThatCannotStartIsAnErrorNamingIt) {
  IsolatedPdfRenderer renderer({"/nonexistent/herald", "render-worker"}, 1, {});
  const auto pdf = renderer.Render(Example("Ada Lovelace"));
  ASSERT_FALSE(pdf);
  EXPECT_EQ(pdf.error().code, "pdf.render_worker");
  EXPECT_NE(pdf.error().message.find("/nonexistent/herald"), std::string::npos) << pdf.error().message;
}

}  // namespace
}  // namespace herald::certificates
