#include "certificates/pdf_renderer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "tests/support/process.hpp"

namespace herald::certificates {
namespace {

using herald::testing::ReadFile;
using herald::testing::RunCommand;
using herald::testing::TempDir;
using herald::testing::WriteFile;

std::string ExampleWith(const std::string& name, const std::string& event) {
  auto svg = ReadFile(std::string(HERALD_SOURCE_DIR) + "/examples/certificates/template.svg");
  auto replace = [&svg](const std::string& from, const std::string& to) {
    for (size_t pos = svg.find(from); pos != std::string::npos; pos = svg.find(from, pos + to.size())) {
      svg.replace(pos, from.size(), to);
    }
  };
  replace("{{student_name}}", name);
  replace("{{event_name}}", event);
  replace("{{date}}", "23 November 2026");
  replace("{{certificate_id}}", "7F3A-19C2-B04E");
  replace("{{hours}}", "12");
  return svg;
}

std::string PdfToText(const TempDir& dir, const std::string& pdf) {
  const auto path = dir.path() + "/c.pdf";
  WriteFile(path, pdf);
  const auto result = RunCommand({"pdftotext", "-layout", path, "-"}, std::chrono::seconds(30));
  EXPECT_EQ(result.exit_code, 0);
  return result.output;
}

TEST(PdfRenderer, NamesInEveryScriptAreExtractableText) {
  InProcessPdfRenderer renderer;
  TempDir dir;
  for (const std::string name : {"Ada Lovelace", "Алексей Смирнов", "Ελένη Παπαδοπούλου", "王小明", "佐藤 花子",
                                 "José Álvarez-Núñez"}) {
    const auto pdf = renderer.Render(ExampleWith(name, "AI/ML Bootcamp"));
    ASSERT_TRUE(pdf) << pdf.error().message;
    EXPECT_EQ(pdf->rfind("%PDF-", 0), 0u);
    const auto text = PdfToText(dir, *pdf);
    EXPECT_NE(text.find(name), std::string::npos) << name << " not in:\n" << text;
    EXPECT_NE(text.find("AI/ML Bootcamp"), std::string::npos);
    EXPECT_NE(text.find("7F3A-19C2-B04E"), std::string::npos);
  }
}

TEST(PdfRenderer, ArabicIsShapedAndExtractable) {
  InProcessPdfRenderer renderer;
  TempDir dir;
  const std::string name = "محمد الأحمد";
  const auto pdf = renderer.Render(ExampleWith(name, "Go Workshop"));
  ASSERT_TRUE(pdf) << pdf.error().message;
  const auto text = PdfToText(dir, *pdf);
  // Shaped right to left with an Arabic font; pdftotext returns the words in
  // logical order (it decomposes the lam-alef ligature, so check a plain word).
  EXPECT_NE(text.find("محمد"), std::string::npos) << text;
  const auto path = dir.path() + "/ar.pdf";
  WriteFile(path, *pdf);
  EXPECT_NE(RunCommand({"pdffonts", path}, std::chrono::seconds(30)).output.find("Arabic"), std::string::npos);
}

TEST(PdfRenderer, EmojiAreDrawnAndTheDocumentIsValid) {
  InProcessPdfRenderer renderer;
  TempDir dir;
  const auto pdf = renderer.Render(ExampleWith("Zoë 😀 Winters", "Go Workshop"));
  ASSERT_TRUE(pdf) << pdf.error().message;
  const auto path = dir.path() + "/e.pdf";
  WriteFile(path, *pdf);
  // Colour emoji glyphs are pictures by nature (Noto Color Emoji is a bitmap
  // font): cairo draws each as a small image next to the vector text.
  const auto images = RunCommand({"pdfimages", "-list", path}, std::chrono::seconds(30));
  EXPECT_GT(std::count(images.output.begin(), images.output.end(), '\n'), 2) << images.output;
  EXPECT_EQ(RunCommand({"qpdf", "--check", path}, std::chrono::seconds(30)).exit_code, 0);
  EXPECT_NE(PdfToText(dir, *pdf).find("Winters"), std::string::npos);
}

TEST(PdfRenderer, CertificatesWithoutEmojiContainNoRasterImages) {
  InProcessPdfRenderer renderer;
  TempDir dir;
  // Digits next to other scripts once fell back to the colour emoji font (it has
  // keycap digits), so they came out as grey pictures instead of text.
  for (const std::string name : {"Алексей Смирнов", "Алексей 5", "王小明 1005", "김민준 42", "Ada Lovelace 3"}) {
    const auto pdf = renderer.Render(ExampleWith(name, "AI/ML Bootcamp 2026"));
    ASSERT_TRUE(pdf);
    const auto path = dir.path() + "/v.pdf";
    WriteFile(path, *pdf);
    const auto images = RunCommand({"pdfimages", "-list", path}, std::chrono::seconds(30));
    ASSERT_EQ(images.exit_code, 0);
    // pdfimages prints a two-line header and then one line per image.
    EXPECT_EQ(std::count(images.output.begin(), images.output.end(), '\n'), 2) << name << "\n" << images.output;
    EXPECT_NE(PdfToText(dir, *pdf).find(name), std::string::npos) << name;
  }
}

TEST(PdfRenderer, BrokenOrSizelessSvgIsAnError) {
  InProcessPdfRenderer renderer;
  const auto broken = renderer.Render("<svg xmlns=\"http://www.w3.org/2000/svg\"><text>unclosed</svg>");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, "pdf.invalid_svg");
  const auto sizeless = renderer.Render("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"1\" height=\"1\"/></svg>");
  ASSERT_FALSE(sizeless);
}

TEST(PdfRenderer, PageSizeFollowsTheSvgInMillimetres) {
  InProcessPdfRenderer renderer;
  TempDir dir;
  const auto pdf = renderer.Render(ExampleWith("Ada", "Go"));
  ASSERT_TRUE(pdf);
  const auto path = dir.path() + "/a4.pdf";
  WriteFile(path, *pdf);
  const auto info = RunCommand({"pdfinfo", path}, std::chrono::seconds(30));
  EXPECT_NE(info.output.find("841.89 x 595.276 pts (A4)"), std::string::npos) << info.output;
}

TEST(PdfRenderer, ConcurrentRendersAllSucceed) {
  InProcessPdfRenderer renderer;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const auto pdf = renderer.Render(ExampleWith("Thread " + std::to_string(t), "Event " + std::to_string(i)));
        if (pdf && pdf->rfind("%PDF-", 0) == 0 && pdf->find("%%EOF") != std::string::npos) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 40);
}

}  // namespace
}  // namespace herald::certificates
