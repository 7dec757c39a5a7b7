# troupe_find_c_library(<target> HEADER <header> NAMES <lib names...>)
# An imported target for a plain C library found by header and library name (no pkg-config, so it
# also works with Debian packages unpacked into a prefix on CMAKE_PREFIX_PATH).
function(troupe_find_c_library target)
  cmake_parse_arguments(L "" "HEADER" "NAMES" ${ARGN})
  string(MAKE_C_IDENTIFIER ${target} id)
  find_path(${id}_INCLUDE_DIR ${L_HEADER})
  find_library(${id}_LIBRARY NAMES ${L_NAMES})
  if(NOT ${id}_INCLUDE_DIR OR NOT ${id}_LIBRARY)
    message(FATAL_ERROR "${target}: ${L_HEADER} / lib${L_NAMES} not found (run ./run build to install the Debian packages)")
  endif()
  add_library(${target} UNKNOWN IMPORTED GLOBAL)
  set_target_properties(${target} PROPERTIES IMPORTED_LOCATION ${${id}_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${${id}_INCLUDE_DIR})
endfunction()
