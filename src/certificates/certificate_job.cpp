#include "certificates/certificate_job.hpp"

#include <nlohmann/json.hpp>

namespace herald::certificates {
namespace {

struct Field {
  std::string_view name;
  std::string CertificateJob::*member;
};
constexpr Field kFields[] = {{"svg", &CertificateJob::svg},
                             {"svg_source", &CertificateJob::svg_source},
                             {"subject", &CertificateJob::subject},
                             {"body", &CertificateJob::body},
                             {"body_source", &CertificateJob::body_source},
                             {"from", &CertificateJob::from},
                             {"out_dir", &CertificateJob::out_dir}};

Unexpected<Error> JobError(const std::string& message) {
  return MakeError("invalid_certificate_job", "certificate job: " + message);
}

}  // namespace

std::string ToJson(const CertificateJob& job) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& field : kFields) out[std::string(field.name)] = job.*field.member;
  return out.dump();
}

Result<CertificateJob> ParseCertificateJob(std::string_view json) {
  const auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (!parsed.is_object()) return JobError("not a JSON object");
  CertificateJob job;
  for (const auto& field : kFields) {
    const auto it = parsed.find(std::string(field.name));
    if (it == parsed.end() || !it->is_string()) {
      return JobError("field \"" + std::string(field.name) + "\" is missing or not a string");
    }
    job.*field.member = it->get<std::string>();
  }
  if (job.out_dir.empty() || job.out_dir.front() != '/') {
    return JobError("out_dir \"" + job.out_dir + "\" is not an absolute path");
  }
  return job;
}

Result<CompiledJob> Compile(const CertificateJob& job) {
  auto svg = templating::Template::Parse(job.svg, job.svg_source);
  if (!svg) return Unexpected<Error>(svg.error());
  auto subject = templating::Template::Parse(job.subject, "subject");
  if (!subject) return Unexpected<Error>(subject.error());
  auto body = templating::Template::Parse(job.body, job.body_source);
  if (!body) return Unexpected<Error>(body.error());
  auto from = mime::ParseMailbox(job.from);
  if (!from) return MakeError(from.error().code, "from: " + from.error().message);
  return CompiledJob{{std::move(*svg), std::move(*subject), std::move(*body)}, std::move(*from)};
}

}  // namespace herald::certificates
