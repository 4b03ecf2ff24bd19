// SVG to PDF in process with librsvg and cairo: vector output, text kept as text
// (extractable, searchable), fonts embedded as subsets, with fontconfig fallback
// so names in any script render. Shared by all workers; safe to call concurrently.
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

class PdfRenderer {
 public:
  PdfRenderer();
  // svg: a complete, personalised SVG document (UTF-8). Returns the PDF bytes.
  Result<std::string> Render(std::string_view svg, const PdfMetadata& metadata = {}) const;
};

}  // namespace herald::certificates
