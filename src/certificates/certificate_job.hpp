// CertificateJob: what delivering an event's certificates needs besides its
// rows — the run's templates, sender and output folder. `herald certificates`
// stores it with each event's lane when a broker carries the lanes, so that
// `herald worker --lanes certificates` processes anywhere render and send the
// same certificates, into the same (shared) output folder.
#pragma once

#include <string>
#include <string_view>

#include "certificates/certificate_composer.hpp"
#include "common/result.hpp"
#include "mime/email_message.hpp"

namespace herald::certificates {

struct CertificateJob {
  std::string svg;          // the template's text
  std::string svg_source;   // where it came from (its path), for messages
  std::string subject;      // template of the e-mail's subject
  std::string body;         // template of the e-mail's text
  std::string body_source;  // the body file's path, or "built-in body"
  std::string from;         // the sender's mailbox, as written in the settings
  std::string out_dir;      // absolute: where every process saves the PDFs (<out>/<event slug>/)
};

std::string ToJson(const CertificateJob& job);
// Fails naming the field that is missing or of the wrong type.
Result<CertificateJob> ParseCertificateJob(std::string_view json);

// The job's three templates and sender, parsed; errors name their source.
struct CompiledJob {
  CertificateTemplates templates;
  mime::Mailbox from;
};
Result<CompiledJob> Compile(const CertificateJob& job);

}  // namespace herald::certificates
