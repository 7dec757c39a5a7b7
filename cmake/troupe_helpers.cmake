# troupe_add_plugin(<name> SOURCES <files...> [TORCH] [LIBS <targets...>])
#
# Builds a plugin as a MODULE library named <name> into <build>/plugins/<name>/ with its plugin.toml
# (taken from the calling folder) beside it, and installs both. Every plugin links the plugin kit
# (troupe_plugin_kit, static). TORCH links LibTorch dynamically (after fmt and Boost: torch ships its own
# fmt headers, which must not win) and puts its version into the plugin's build fingerprint; a plugin
# without TORCH must not link LibTorch through LIBS either.
function(troupe_add_plugin name)
  cmake_parse_arguments(P "TORCH;NO_INSTALL" "MANIFEST;OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  if(NOT P_MANIFEST)
    set(P_MANIFEST ${CMAKE_CURRENT_SOURCE_DIR}/plugin.toml)
  endif()
  if(NOT P_OUTPUT_DIR)
    if(TROUPE_PLUGIN_OUTPUT_DIR)
      set(P_OUTPUT_DIR ${TROUPE_PLUGIN_OUTPUT_DIR}/${name})
    else()
      set(P_OUTPUT_DIR ${CMAKE_BINARY_DIR}/plugins/${name})
    endif()
  endif()
  set_target_properties(${name} PROPERTIES
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR}
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  if(TARGET troupe_plugin_api)
    target_link_libraries(${name} PRIVATE troupe_plugin_api troupe_plugin_kit)
    set(_torch_version "${Torch_VERSION}")
  else()  # out of tree: find_package(troupe) set TROUPE_TORCH_VERSION for the build fingerprint
    target_link_libraries(${name} PRIVATE troupe::plugin_api troupe::plugin_kit)
    set(_torch_version "${TROUPE_TORCH_VERSION}")
  endif()
  target_link_libraries(${name} PRIVATE ${P_LIBS} fmt::fmt Boost::headers)
  if(P_TORCH)
    target_link_libraries(${name} PRIVATE ${TORCH_LIBRARIES})
    target_compile_definitions(${name} PRIVATE TROUPE_PLUGIN_TORCH_VERSION="${_torch_version}")
  endif()
  if(EXISTS ${P_MANIFEST})
    configure_file(${P_MANIFEST} ${P_OUTPUT_DIR}/plugin.toml COPYONLY)
  endif()
  if(NOT P_NO_INSTALL AND TROUPE_INSTALL_PLUGIN_DIR)
    install(TARGETS ${name} LIBRARY DESTINATION ${TROUPE_INSTALL_PLUGIN_DIR}/${name})
    install(FILES ${P_MANIFEST} DESTINATION ${TROUPE_INSTALL_PLUGIN_DIR}/${name})
  endif()
endfunction()

# troupe_add_test(<name> SOURCES <files...> [LIBS <targets...>] [LABELS <labels...>] [ARGS ...])
# A Boost.Test executable registered with ctest, labelled by what it needs
# (unit, plugins, conformance, torch, slow).
function(troupe_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Boost::unit_test_framework)
  target_compile_definitions(${name} PRIVATE BOOST_TEST_DYN_LINK
    TROUPE_SOURCE_DIR="${PROJECT_SOURCE_DIR}" TROUPE_BINARY_DIR="${PROJECT_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}"
    ENVIRONMENT "TROUPE_SOURCE_DIR=${PROJECT_SOURCE_DIR};TROUPE_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()
