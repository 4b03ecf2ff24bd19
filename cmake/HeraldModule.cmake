# herald_module(<target> <folder>): the headers of src/<folder> are seen, as
# "<folder>/x.hpp", by <target> and by whatever links it, and by nothing else.
# Each folder gets an include root of its own under the build tree, holding one
# link to the folder, so an include that points the wrong way (a module using
# one it does not link) fails to build instead of compiling by accident.
function(herald_module target folder)
  set(root "${CMAKE_BINARY_DIR}/module-include/${folder}")
  if(NOT EXISTS "${root}/${folder}")
    file(MAKE_DIRECTORY "${root}")
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/${folder}" "${root}/${folder}" SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC "${root}")
endfunction()
