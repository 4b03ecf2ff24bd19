#include "certificates/delivery_plan.hpp"

#include <nlohmann/json.hpp>

#include "common/hash.hpp"
#include "common/text.hpp"

namespace herald::certificates {

std::string DeliveryId(std::string_view event_name, std::string_view email_key) {
  std::string key;
  key.reserve(event_name.size() + email_key.size() + 16);
  key.append("certificate\x1f").append(event_name).append("\x1f").append(email_key);
  return Sha256Hex(key).substr(0, 24);
}

std::string CertificateCode(std::string_view delivery_id) {
  std::string code;
  for (size_t i = 0; i < 12 && i < delivery_id.size(); ++i) {
    if (i > 0 && i % 4 == 0) code.push_back('-');
    const char c = delivery_id[i];
    code.push_back(c >= 'a' && c <= 'f' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return code;
}

std::vector<store::CertificateDelivery> PlanDeliveries(const Roster& roster, const std::string& date_text) {
  std::vector<store::CertificateDelivery> rows;
  rows.reserve(roster.eligible.size());
  for (const auto& student : roster.eligible) {
    store::CertificateDelivery row;
    row.id = DeliveryId(student.event->name, student.email_key);
    row.certificate_id = CertificateCode(row.id);
    row.event_name = student.event->name;
    row.event_slug = student.event->slug;
    row.student_name = student.name;
    row.email = student.email;
    row.csv_line = student.line;

    nlohmann::json variables = nlohmann::json::object();
    for (const auto& [name, value] : student.variables) variables[name] = value;
    if (!variables.contains("date") || variables["date"].get<std::string>().empty()) variables["date"] = date_text;
    variables["student_name"] = student.name;
    variables["student_email"] = student.email;
    variables["event_name"] = student.event->name;
    variables["certificate_id"] = row.certificate_id;
    row.variables_json = variables.dump();
    rows.push_back(std::move(row));
  }
  return rows;
}

std::map<std::string, std::string> VariablesOf(const store::CertificateDelivery& row) {
  std::map<std::string, std::string> variables;
  const auto parsed = nlohmann::json::parse(row.variables_json, nullptr, false);
  if (parsed.is_object()) {
    for (const auto& [name, value] : parsed.items()) {
      if (value.is_string()) variables[name] = value.get<std::string>();
    }
  }
  return variables;
}

}  // namespace herald::certificates
