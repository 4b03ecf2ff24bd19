# cmake -DDIR=<folder of NNNN_name.sql> -DOUTPUT=<file.cpp> -DBACKEND=<sqlite|postgres> -P EmbedMigrations.cmake
# Writes a C++ source whose herald::store::<BACKEND>::Migrations() (declared in
# store/<BACKEND>/migrations.hpp) lists every
# migration of DIR in version order, its SQL compiled in as bytes (see
# EmbedFile.cmake for why bytes). Versions must run 1, 2, 3... without a gap, so
# a missing or misnumbered file fails the build rather than a user's upgrade.
foreach(var DIR OUTPUT BACKEND)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "EmbedMigrations.cmake: -D${var}=... is required")
  endif()
endforeach()

include(${CMAKE_CURRENT_LIST_DIR}/BytesOf.cmake)

file(GLOB files RELATIVE "${DIR}" "${DIR}/*.sql")
list(SORT files)
set(arrays "")
set(entries "")
set(expected 1)
foreach(name IN LISTS files)
  if(NOT name MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)\\.sql$")
    message(FATAL_ERROR "${DIR}/${name}: a migration is named NNNN_lower_case_words.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "${DIR}/${name}: expected migration ${expected} next, found ${version}")
  endif()
  math(EXPR expected "${expected} + 1")
  herald_bytes_of("${DIR}/${name}" bytes size)
  string(REGEX REPLACE "\\.sql$" "" stem "${name}")
  string(APPEND arrays "constexpr unsigned char k${stem}[${size} + 1] = {\n    ${bytes}0x00};\n")
  string(APPEND entries "      {${version}, \"${stem}\", {reinterpret_cast<const char*>(k${stem}), ${size}}},\n")
endforeach()
if(expected EQUAL 1)
  message(FATAL_ERROR "${DIR}: no migrations")
endif()

file(WRITE "${OUTPUT}.tmp" "// Generated from ${DIR} by cmake/EmbedMigrations.cmake at build time; do not edit.
#include \"store/${BACKEND}/migrations.hpp\"

namespace herald::store::${BACKEND} {
namespace {

${arrays}
}  // namespace

std::span<const Migration> Migrations() {
  static const Migration kAll[] = {
${entries}  };
  return kAll;
}

}  // namespace herald::store::${BACKEND}
")
# Only a changed list rebuilds what includes it.
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
