#include "certificates/certificate_composer.hpp"

#include "certificates/delivery_plan.hpp"
#include "certificates/slug.hpp"
#include "common/text.hpp"

namespace herald::certificates {
namespace {

templating::Template::Lookup LookupIn(const std::map<std::string, std::string>& variables) {
  return [&variables](std::string_view name) -> std::optional<std::string_view> {
    auto it = variables.find(std::string(name));
    if (it == variables.end()) return std::nullopt;
    return std::string_view(it->second);
  };
}

}  // namespace

CertificateComposer::CertificateComposer(CertificateTemplates templates, mime::Mailbox from,
                                         const PdfRenderer& renderer, const Clock& clock)
    : templates_(std::move(templates)),
      from_(std::move(from)),
      message_id_domain_(from_.address.substr(from_.address.find('@') + 1)),
      renderer_(renderer),
      clock_(clock) {}

Result<std::string> CertificateComposer::RenderPdf(const std::map<std::string, std::string>& variables,
                                                   const std::string& title) const {
  const std::string svg = templates_.svg.Render(LookupIn(variables), templating::Escaping::kXml);
  return renderer_.Render(svg, PdfMetadata{.title = title});
}

Result<void> CertificateComposer::CheckTemplate() const {
  std::map<std::string, std::string> sample;
  for (const auto& name : templates_.svg.Placeholders()) sample[name] = "Sample " + name;
  auto pdf = RenderPdf(sample, "Template check");
  if (!pdf) return Unexpected<Error>(pdf.error());
  return {};
}

std::string LineBreakIn(std::string_view value) {
  for (const char c : value) {
    if (c == '\r' || c == '\n') return "a line break";
    if (c == '\0') return "a NUL byte";
  }
  return "";
}

Result<void> CertificateComposer::CheckHeaders(const store::CertificateDelivery& row) const {
  const auto variables = VariablesOf(row);
  const auto subject = templates_.subject.Render(LookupIn(variables), templating::Escaping::kNone);
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"subject", &subject},
                                     {"student_name", &row.student_name},
                                     {"student_email", &row.email}}) {
    if (!LineBreakIn(*value).empty()) {
      return MakeError("certificate.header", std::string(field) +
                                                 ": rendered for this row it holds a line break or NUL; "
                                                 "a header value is one line");
    }
  }
  return {};
}

Result<ComposedCertificate> CertificateComposer::Compose(const store::CertificateDelivery& row,
                                                        std::optional<std::string> existing_pdf) const {
  const auto variables = VariablesOf(row);
  ComposedCertificate composed;
  if (existing_pdf) {
    composed.pdf = std::move(*existing_pdf);
  } else {
    auto pdf = RenderPdf(variables, "Certificate " + row.certificate_id + " - " + row.event_name);
    if (!pdf) return Unexpected<Error>(pdf.error());
    composed.pdf = std::move(pdf).value();
  }
  const auto name_part = SlugBase(row.student_name);
  composed.pdf_file_name = (name_part.empty() ? std::string() : name_part + "-") + row.certificate_id + ".pdf";

  mime::EmailContent content;
  content.from = from_;
  content.to = {mime::Mailbox{row.student_name, row.email}};
  content.subject = templates_.subject.Render(LookupIn(variables), templating::Escaping::kNone);
  content.text_body = templates_.text_body.Render(LookupIn(variables), templating::Escaping::kNone);
  content.attachments.push_back({composed.pdf_file_name, "application/pdf", composed.pdf});
  content.date = clock_.Now();
  // The same delivery always carries the same Message-ID, so a receiver can spot
  // a copy sent again after an unknown outcome.
  content.message_id = mime::MakeMessageId(row.id, message_id_domain_);
  auto message = mime::BuildMessage(content);
  if (!message) return Unexpected<Error>(message.error());

  composed.email.delivery_id = row.id;
  composed.email.channel = "email";
  composed.email.to = row.email;
  composed.email.subject = content.subject;
  composed.email.envelope_from = from_.address;
  composed.email.message_id = content.message_id;
  composed.email.mime = std::move(message).value();
  composed.email.parts = std::make_shared<const mime::EmailContent>(std::move(content));
  return composed;
}

}  // namespace herald::certificates
