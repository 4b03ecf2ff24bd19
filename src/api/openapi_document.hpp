// The OpenAPI 3 description of the REST API, served at GET /openapi.json. It is
// written by hand in src/api/openapi.json and compiled into the binary (see
// cmake/EmbedFile.cmake), so the server needs no file at run time.
#pragma once

#include <string_view>

namespace herald::api {

// The bytes of src/api/openapi.json as built.
std::string_view OpenApiDocument();

}  // namespace herald::api
