#include "api/contact_json.hpp"

#include <algorithm>
#include <optional>

#include "api/message_json.hpp"
#include "certificates/csv_reader.hpp"
#include "common/text.hpp"
#include "domain/recipient.hpp"

namespace herald::api {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxFieldBytes = 1000;

using Field = std::optional<std::string> store::ContactRecord::*;

struct FieldSpec {
  const char* name;
  Field member;
  std::optional<domain::Channel> address_of;  // an address, normalised for this channel
};

const std::vector<FieldSpec>& Fields() {
  static const std::vector<FieldSpec> kFields = {
      {"phone", &store::ContactRecord::phone, domain::Channel::kSms},
      {"email", &store::ContactRecord::email, domain::Channel::kEmail},
      {"telegram_chat_id", &store::ContactRecord::telegram_chat_id, domain::Channel::kTelegram},
      {"first_name", &store::ContactRecord::first_name, std::nullopt},
      {"last_name", &store::ContactRecord::last_name, std::nullopt},
      {"location", &store::ContactRecord::location, std::nullopt},
      {"preferred_product", &store::ContactRecord::preferred_product, std::nullopt},
  };
  return kFields;
}

// Sets one field from text; an empty text clears it. Returns an error message or "".
std::string SetField(store::ContactRecord& contact, const FieldSpec& spec, const std::string& text) {
  const auto trimmed = std::string(text::Trim(text));
  if (trimmed.empty()) {
    contact.*spec.member = std::nullopt;
    return "";
  }
  if (trimmed.size() > kMaxFieldBytes) return "at most " + std::to_string(kMaxFieldBytes) + " bytes";
  if (spec.address_of) {
    auto normalised = domain::NormalizeRecipient(*spec.address_of, trimmed);
    if (!normalised) return normalised.error().message;
    contact.*spec.member = *normalised;
  } else {
    contact.*spec.member = trimmed;
  }
  return "";
}

std::optional<ApiError> CheckHasAddress(const store::ContactRecord& contact, const std::string& where) {
  if (contact.phone || contact.email || contact.telegram_chat_id) return std::nullopt;
  return ApiError::Invalid(where + "phone, email, telegram_chat_id: a contact needs at least one address");
}

}  // namespace

std::variant<store::ContactRecord, ApiError> ParseContact(const json& body, std::int64_t owner_id,
                                                          const store::ContactRecord* existing) {
  if (!body.is_object()) return ApiError::Invalid("body: must be a JSON object");
  store::ContactRecord contact = existing ? *existing : store::ContactRecord{};
  contact.owner_id = existing ? existing->owner_id : owner_id;
  for (const auto& spec : Fields()) {
    const auto it = body.find(spec.name);
    if (it == body.end()) {
      if (!existing) contact.*spec.member = std::nullopt;
      continue;
    }
    if (it->is_null()) {
      contact.*spec.member = std::nullopt;
      continue;
    }
    std::string text;
    if (it->is_string()) {
      text = it->get<std::string>();
    } else if (it->is_number_integer() && spec.address_of == domain::Channel::kTelegram) {
      text = std::to_string(it->get<std::int64_t>());  // chat ids are often sent as numbers
    } else {
      return ApiError::Invalid(std::string(spec.name) + ": must be a string or null");
    }
    if (const auto problem = SetField(contact, spec, text); !problem.empty()) {
      return ApiError::Invalid(std::string(spec.name) + ": " + problem);
    }
  }
  if (const auto it = body.find("attributes"); it != body.end()) {
    if (it->is_null()) {
      contact.attributes_json = "{}";
    } else if (!it->is_object()) {
      return ApiError::Invalid("attributes: must be a JSON object");
    } else {
      contact.attributes_json = JsonText(*it);
    }
  } else if (!existing) {
    contact.attributes_json = "{}";
  }
  if (auto missing = CheckHasAddress(contact, "")) return *missing;
  return contact;
}

json ContactToJson(const store::ContactRecord& contact) {
  json out{{"id", contact.id}, {"owner_id", contact.owner_id}};
  for (const auto& spec : Fields()) {
    const auto& value = contact.*spec.member;
    out[spec.name] = value ? json(*value) : json(nullptr);
  }
  out["attributes"] = json::parse(contact.attributes_json, nullptr, false);
  if (out["attributes"].is_discarded()) out["attributes"] = json::object();
  out["created_at"] = FormatTimestamp(contact.created_at_ms);
  out["updated_at"] = FormatTimestamp(contact.updated_at_ms);
  return out;
}

std::variant<CsvImport, ApiError> ParseContactsCsv(const std::string& csv, std::int64_t owner_id) {
  auto reader = certificates::CsvReader::FromString(csv, "body");
  auto header = reader.Next();
  if (!header) return ApiError::Invalid(header.error().message);
  if (!*header)
    return ApiError::Invalid("body: the CSV is empty; it needs a header row such as phone,first_name");
  // Which field each column fills; nullptr: an attribute.
  std::vector<const FieldSpec*> columns;
  std::vector<std::string> names;
  bool has_address = false;
  for (const auto& raw : (*header)->fields) {
    if (!text::IsValidUtf8(raw)) {
      return ApiError::Invalid("body: line " + std::to_string((*header)->line) + ", column " +
                                     std::to_string(columns.size() + 1) + " of the header row is not UTF-8");
    }
    auto name = text::ToLowerAscii(std::string(text::Trim(raw)));
    if (name == "telegram") name = "telegram_chat_id";
    const auto spec =
        std::find_if(Fields().begin(), Fields().end(), [&](const FieldSpec& f) { return name == f.name; });
    columns.push_back(spec == Fields().end() ? nullptr : &*spec);
    if (spec != Fields().end() && spec->address_of) has_address = true;
    names.push_back(std::move(name));
  }
  if (!has_address) {
    return ApiError::Invalid("body: the header row needs a phone, email or telegram_chat_id column");
  }
  CsvImport result;
  while (true) {
    auto next = reader.Next();
    if (!next) {
      // An unterminated quote swallows the rest of the file: report it, keep what came before.
      result.rejected.push_back({0, next.error().message});
      break;
    }
    if (!*next) break;
    const auto& record = **next;
    if (record.fields.size() == 1 && text::Trim(record.fields[0]).empty()) continue;  // blank line
    if (record.fields.size() != columns.size()) {
      result.rejected.push_back({record.line, "has " + std::to_string(record.fields.size()) +
                                                  " fields; the header has " + std::to_string(columns.size())});
      continue;
    }
    store::ContactRecord contact;
    contact.owner_id = owner_id;
    json attributes = json::object();
    std::string problem;
    for (std::size_t i = 0; i < columns.size() && problem.empty(); ++i) {
      if (!text::IsValidUtf8(record.fields[i])) {
        problem = (names[i].empty() ? "column " + std::to_string(i + 1) : names[i]) + ": is not UTF-8";
        continue;
      }
      if (columns[i] == nullptr) {
        if (!names[i].empty() && !text::Trim(record.fields[i]).empty()) attributes[names[i]] = record.fields[i];
        continue;
      }
      if (auto p = SetField(contact, *columns[i], record.fields[i]); !p.empty()) problem = names[i] + ": " + p;
    }
    if (problem.empty()) {
      if (auto missing = CheckHasAddress(contact, "")) problem = missing->message;
    }
    if (!problem.empty()) {
      result.rejected.push_back({record.line, problem});
      continue;
    }
    contact.attributes_json = JsonText(attributes);
    result.contacts.push_back(std::move(contact));
  }
  return result;
}

}  // namespace herald::api
