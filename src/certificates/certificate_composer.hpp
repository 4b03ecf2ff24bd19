// Builds everything one student receives: the personalised SVG rendered to PDF,
// and the e-mail carrying that PDF as an attachment. Pure CPU work with no I/O,
// so workers can call it from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "certificates/pdf_renderer.hpp"
#include "channels/channel.hpp"
#include "common/clock.hpp"
#include "common/result.hpp"
#include "mime/email_message.hpp"
#include "store/certificate_store.hpp"
#include "templating/template.hpp"

namespace herald::certificates {

// What makes a header value unusable ("a line break", "a NUL byte": it would
// add or split a header line), or empty when it is fine.
std::string LineBreakIn(std::string_view value);

struct CertificateTemplates {
  templating::Template svg;
  templating::Template subject;
  templating::Template text_body;
};

struct ComposedCertificate {
  std::string pdf;            // bytes saved to the event folder and attached, identical
  std::string pdf_file_name;  // e.g. "ada-lovelace-7F3A-19C2-B04E.pdf"
  channels::RenderedMessage email;
};

class CertificateComposer {
 public:
  CertificateComposer(CertificateTemplates templates, mime::Mailbox from, const PdfRenderer& renderer,
                      const Clock& clock);

  // `existing_pdf`: the certificate rendered by an earlier attempt, attached as it
  // is instead of rendering again.
  Result<ComposedCertificate> Compose(const store::CertificateDelivery& row,
                                      std::optional<std::string> existing_pdf = std::nullopt) const;
  // Renders the SVG for sample values and converts it, to fail fast on a broken template.
  Result<void> CheckTemplate() const;
  // Whether the row's e-mail headers (its rendered subject, its name and address)
  // can be written: checked for every row before the first send.
  Result<void> CheckHeaders(const store::CertificateDelivery& row) const;

 private:
  Result<std::string> RenderPdf(const std::map<std::string, std::string>& variables, const std::string& title) const;

  CertificateTemplates templates_;
  mime::Mailbox from_;
  std::string message_id_domain_;
  const PdfRenderer& renderer_;
  const Clock& clock_;
};

}  // namespace herald::certificates
