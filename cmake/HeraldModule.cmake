# herald_module(<target> <folder>): the headers of src/<folder> are seen, as
# "<folder>/x.hpp", by <target> and by whatever links it, and by nothing else.
# Each folder gets an include root of its own under the build tree, holding one
# link to the folder, so an include that points the wrong way (a module using
# one it does not link) fails to build instead of compiling by accident.
# <folder> may be nested ("store/sqlite"): a backend is a module of its own.
function(herald_module target folder)
  set(root "${CMAKE_BINARY_DIR}/module-include/${folder}")
  if(NOT EXISTS "${root}/${folder}")
    get_filename_component(parent "${root}/${folder}" DIRECTORY)
    file(MAKE_DIRECTORY "${parent}")
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/${folder}" "${root}/${folder}" SYMBOLIC)
  endif()
  target_include_directories(${target} PUBLIC "${root}")
endfunction()

# herald_module_headers(<target> <folder>): for a header-only INTERFACE library
# whose subfolders are modules of their own (store/ and its backends): only the
# headers directly in src/<folder> are seen, one link each, so linking the
# interfaces does not expose a backend.
function(herald_module_headers target folder)
  set(root "${CMAKE_BINARY_DIR}/module-include/${folder}-interfaces")
  file(MAKE_DIRECTORY "${root}/${folder}")
  file(GLOB headers CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${folder}/*.hpp")
  foreach(header IN LISTS headers)
    get_filename_component(name "${header}" NAME)
    if(NOT EXISTS "${root}/${folder}/${name}")
      file(CREATE_LINK "${header}" "${root}/${folder}/${name}" SYMBOLIC)
    endif()
  endforeach()
  target_include_directories(${target} INTERFACE "${root}")
endfunction()
