# troupe_sovits_text: the Korean text front-end of GPT-SoVITS v2 (no LibTorch): symbol table, number
# reading, pronunciation rules, jamo split, phones → ids, long-text splitting. Included from
# plugins/gpt-sovits/CMakeLists.txt.
add_library(troupe_sovits_text STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/text/utf8.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/text/hangul.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/text/symbols.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/text/korean_numbers.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/text/korean_lexicon.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/text/korean_g2p.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/text/frontend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/text/text_split.cpp)
set_target_properties(troupe_sovits_text PROPERTIES POSITION_INDEPENDENT_CODE ON)
target_include_directories(troupe_sovits_text PUBLIC ${CMAKE_CURRENT_LIST_DIR}/src)
target_link_libraries(troupe_sovits_text PUBLIC troupe_plugin_api PRIVATE nlohmann_json::nlohmann_json)
target_compile_features(troupe_sovits_text PUBLIC cxx_std_17)
if(TARGET troupe_sovits)
  target_link_libraries(troupe_sovits PUBLIC troupe_sovits_text)
endif()
