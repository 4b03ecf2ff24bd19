// Page parameters shared by the contacts, templates and campaigns lists, read
// like the messages list's: page, page_size and as_of (the snapshot id the first
// page reported), so following pages neither repeat nor skip rows.
#pragma once

#include <nlohmann/json.hpp>

#include <variant>

#include "api/api_context.hpp"
#include "store/campaign_records.hpp"

namespace herald::api {

inline constexpr int kMaxListPageSize = 500;

// Owner-scoped for users, every owner for admins; INVALID_QUERY names a bad value.
inline std::variant<store::PageQuery, ApiError> ParsePageQuery(const restinio::query_string_params_t& query,
                                                               const Caller& caller) {
  const auto page = QueryNumber(query, "page", 1, 1, 1000000);
  const auto page_size = QueryNumber(query, "page_size", 20, 1, kMaxListPageSize);
  const auto as_of = QueryNumber(query, "as_of", 0, 1, INT64_MAX);
  for (const auto* value : {&page, &page_size, &as_of}) {
    if (const auto* error = std::get_if<ApiError>(value)) return *error;
  }
  store::PageQuery out;
  if (!caller.IsAdmin()) out.owner_id = caller.key.id;
  if (query.has("as_of")) out.as_of_id = std::get<std::int64_t>(as_of);
  out.page = static_cast<int>(std::get<std::int64_t>(page));
  out.page_size = static_cast<int>(std::get<std::int64_t>(page_size));
  return out;
}

inline nlohmann::json PaginationJson(const store::PageQuery& query, std::int64_t total_count, std::int64_t as_of_id) {
  return {{"page", query.page},
          {"page_size", query.page_size},
          {"total_count", total_count},
          {"total_pages", (total_count + query.page_size - 1) / query.page_size},
          {"as_of", as_of_id}};
}

}  // namespace herald::api
