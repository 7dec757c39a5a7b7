# troupe_sovits_prepare: `troupe tts prepare`'s pipeline — AI Hub-style labels + audio → upstream
# GPT-SoVITS dataset files (list, 2-name2text, 5-wav32k, 4-cnhubert, 6-name2semantic). Included from
# plugins/gpt-sovits/CMakeLists.txt; the semantic stage is compiled in when troupe_sovits (S2) exists.
add_library(troupe_sovits_prepare STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/prepare/dataset_list.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/prepare/aihub.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/prepare/torch_file.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/prepare/pipeline.cpp)
target_include_directories(troupe_sovits_prepare PUBLIC ${CMAKE_CURRENT_LIST_DIR}/src)
if(TARGET troupe::sndfile)
  set(_prepare_sndfile troupe::sndfile)
else()
  set(_prepare_sndfile PkgConfig::SNDFILE)
endif()
set_target_properties(troupe_sovits_prepare PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_link_libraries(troupe_sovits_prepare PUBLIC troupe_sovits_text troupe_plugin_kit troupe_ssl troupe_torch_common
  fmt::fmt nlohmann_json::nlohmann_json ${_prepare_sndfile} ${TORCH_LIBRARIES})
option(TROUPE_PREPARE_WITH_S2 "compile the semantic stage of troupe tts prepare (needs troupe_sovits)" ON)
if(TARGET troupe_sovits AND TROUPE_PREPARE_WITH_S2)
  target_link_libraries(troupe_sovits_prepare PUBLIC troupe_sovits)
  target_compile_definitions(troupe_sovits_prepare PRIVATE TROUPE_PREPARE_HAS_S2=1)
else()
  target_compile_definitions(troupe_sovits_prepare PRIVATE TROUPE_PREPARE_HAS_S2=0)
endif()
