// JSON and CSV of the contacts API (seed 003's customers): request bodies and
// CSV rows parsed into contact rows, with every field validated and named in
// errors; addresses are normalised per channel so a campaign can use them as is.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "api/api_error.hpp"
#include "store/campaign_records.hpp"

namespace herald::api {

// A full contact from POST or PUT. With `existing` (PATCH), only the fields the
// body names change; a field set to null is cleared.
std::variant<store::ContactRecord, ApiError> ParseContact(const nlohmann::json& body, std::int64_t owner_id,
                                                          const store::ContactRecord* existing = nullptr);

nlohmann::json ContactToJson(const store::ContactRecord& contact);

// One rejected CSV row: its physical line and why.
struct CsvRowError {
  int line = 0;
  std::string message;
};

struct CsvImport {
  std::vector<store::ContactRecord> contacts;  // the valid rows
  std::vector<CsvRowError> rejected;
};

// A CSV with a header row. Columns named like contact fields fill them; every
// other column becomes an attribute (empty cells are left out). A CSV without a
// header or without any address column is an error for the whole file.
std::variant<CsvImport, ApiError> ParseContactsCsv(const std::string& csv, std::int64_t owner_id);

}  // namespace herald::api
