#include "certificates/pdf_renderer.hpp"

#include <cairo-pdf.h>
#include <cairo.h>
#include <librsvg/rsvg.h>

#include <memory>

namespace herald::certificates {
namespace {

// Points per inch: with the handle's DPI set to this, SVG lengths come out in
// PDF points, so 297mm x 210mm is exactly A4 landscape.
constexpr double kPointsPerInch = 72.0;

struct GObjectDeleter {
  void operator()(RsvgHandle* handle) const { g_object_unref(handle); }
};
struct SurfaceDeleter {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct ContextDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

std::string TakeMessage(GError* error) {
  std::string message = error != nullptr ? error->message : "unknown librsvg error";
  if (error != nullptr) g_error_free(error);
  return message;
}

}  // namespace

Result<std::string> InProcessPdfRenderer::Render(std::string_view svg, const PdfMetadata& metadata) const {
  GError* error = nullptr;
  std::unique_ptr<RsvgHandle, GObjectDeleter> handle(
      rsvg_handle_new_from_data(reinterpret_cast<const guint8*>(svg.data()), svg.size(), &error));
  if (!handle) return MakeError("pdf.invalid_svg", "the SVG cannot be parsed: " + TakeMessage(error));
  rsvg_handle_set_dpi(handle.get(), kPointsPerInch);

  double width = 0;
  double height = 0;
  if (!rsvg_handle_get_intrinsic_size_in_pixels(handle.get(), &width, &height)) {
    gboolean has_viewbox = FALSE;
    RsvgRectangle viewbox{};
    rsvg_handle_get_intrinsic_dimensions(handle.get(), nullptr, nullptr, nullptr, nullptr, &has_viewbox, &viewbox);
    if (has_viewbox) {
      width = viewbox.width;
      height = viewbox.height;
    }
  }
  if (width <= 0 || height <= 0) {
    return MakeError("pdf.no_size", "the SVG has no usable width/height or viewBox");
  }

  std::string pdf;
  std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
      cairo_pdf_surface_create_for_stream(AppendToString, &pdf, width, height));
  cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "Herald");
  if (!metadata.title.empty()) cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, metadata.title.c_str());
  if (!metadata.author.empty()) {
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_AUTHOR, metadata.author.c_str());
  }
  if (!metadata.subject.empty()) {
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_SUBJECT, metadata.subject.c_str());
  }
  {
    std::unique_ptr<cairo_t, ContextDeleter> cr(cairo_create(surface.get()));
    const RsvgRectangle viewport{0, 0, width, height};
    if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &error)) {
      return MakeError("pdf.render_failed", "the SVG cannot be rendered: " + TakeMessage(error));
    }
  }
  cairo_surface_finish(surface.get());
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return MakeError("pdf.render_failed", std::string("cairo: ") + cairo_status_to_string(cairo_surface_status(surface.get())));
  }
  return pdf;
}

}  // namespace herald::certificates
