// Turns eligible students into delivery rows: a stable id per (event, e-mail) so
// re-running the same CSV never creates a second delivery, a verification code
// for the certificate, and the full set of template variables frozen at plan time
// (a retry next week still prints the same date).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "certificates/roster.hpp"
#include "store/certificate_store.hpp"

namespace herald::certificates {

// Variables every certificate has, whatever the CSV holds.
inline constexpr const char* kBuiltinVariables[] = {"student_name", "student_email", "event_name", "date",
                                                    "certificate_id"};

std::string DeliveryId(std::string_view event_name, std::string_view email_key);
// Human-friendly verification code, e.g. "7F3A-19C2-B04E", derived from the delivery id.
std::string CertificateCode(std::string_view delivery_id);

// date_text: value for {{date}} when the CSV has no `date` column.
std::vector<store::CertificateDelivery> PlanDeliveries(const Roster& roster, const std::string& date_text);

// The template variables of a planned row.
std::map<std::string, std::string> VariablesOf(const store::CertificateDelivery& row);

}  // namespace herald::certificates
