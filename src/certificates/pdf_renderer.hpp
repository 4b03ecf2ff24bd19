// SVG to PDF with librsvg and cairo: vector output, text kept as text
// (extractable, searchable), fonts embedded as subsets, with fontconfig fallback
// so names in any script render. Safe to call concurrently.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace herald::certificates {

struct PdfMetadata {
  std::string title;
  std::string author;
  std::string subject;
};

// What turns a personalised SVG into the PDF that is saved and attached.
class PdfRenderer {
 public:
  virtual ~PdfRenderer() = default;
  // svg: a complete, personalised SVG document (UTF-8). Returns the PDF bytes.
  virtual Result<std::string> Render(std::string_view svg, const PdfMetadata& metadata = {}) const = 0;
};

// Renders in this process. Nothing bounds one render's time or memory here:
// the job runs certificates through IsolatedPdfRenderer (render_worker.hpp),
// whose worker processes use this one.
class InProcessPdfRenderer final : public PdfRenderer {
 public:
  Result<std::string> Render(std::string_view svg, const PdfMetadata& metadata = {}) const override;
};

}  // namespace herald::certificates
