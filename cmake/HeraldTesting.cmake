# herald_add_test(NAME <name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>] [ARGS <args...>])
# Label "unit" for tests that need nothing but the process: each test case becomes
# its own ctest test. Any other label ("smtp", "rabbitmq", "e2e") marks a test that
# starts real servers on loopback: the whole binary is one ctest test, so a server
# that is slow to start (RabbitMQ) starts once per binary, not once per case.
include(GoogleTest)
function(herald_add_test)
  cmake_parse_arguments(ARG "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 600)
  endif()
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE
    HERALD_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    HERALD_PYTHON="${HERALD_PYTHON}"
    HERALD_BINARY="$<TARGET_FILE:herald>")
  if(ARG_LABELS STREQUAL "unit")
    gtest_discover_tests(${ARG_NAME}
      PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
      DISCOVERY_TIMEOUT 60)
  else()
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} --gtest_color=no ${ARG_ARGS})
    set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
