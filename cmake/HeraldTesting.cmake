# herald_add_test(NAME <name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>])
# One GoogleTest executable; every test case becomes a ctest test with the labels.
# Label "unit" for tests that need nothing but the process; "smtp", "rabbitmq",
# "e2e" for tests that start real servers on loopback.
include(GoogleTest)
function(herald_add_test)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE
    HERALD_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    HERALD_PYTHON="${HERALD_PYTHON}"
    HERALD_BINARY="$<TARGET_FILE:herald>")
  gtest_discover_tests(${ARG_NAME}
    PROPERTIES LABELS "${ARG_LABELS}"
    DISCOVERY_TIMEOUT 60)
endfunction()
