# cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DHEADER=<include> -DNAMESPACE=<ns> -DFUNCTION=<name> -P EmbedFile.cmake
# Writes a C++ source whose FUNCTION() returns INPUT's bytes as a std::string_view.
# A byte array, not a string literal: no escaping, no delimiter clash, and no
# -Woverlength-strings above the 64 KiB a literal is guaranteed to hold.
foreach(var INPUT OUTPUT HEADER NAMESPACE FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "EmbedFile.cmake: -D${var}=... is required")
  endif()
endforeach()

include(${CMAKE_CURRENT_LIST_DIR}/BytesOf.cmake)
herald_bytes_of("${INPUT}" bytes size)
get_filename_component(input_name "${INPUT}" NAME)

file(WRITE "${OUTPUT}" "// Generated from ${input_name} by cmake/EmbedFile.cmake at build time; do not edit.
#include \"${HEADER}\"

namespace ${NAMESPACE} {
namespace {

constexpr unsigned char kBytes[${size} + 1] = {
    ${bytes}0x00};

}  // namespace

std::string_view ${FUNCTION}() { return {reinterpret_cast<const char*>(kBytes), ${size}}; }

}  // namespace ${NAMESPACE}
")
