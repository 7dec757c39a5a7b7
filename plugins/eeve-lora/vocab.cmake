# troupe_vocab: the eeve-lora tokenizer (tokenizer.json BPE with byte fallback) and its BPE trainer.
# Pure C++, no LibTorch. Included once from plugins/CMakeLists.txt; link it where needed.
include_guard(GLOBAL)
add_library(troupe_vocab STATIC
  ${CMAKE_CURRENT_LIST_DIR}/src/vocab.cpp
  ${CMAKE_CURRENT_LIST_DIR}/src/vocab_trainer.cpp)
target_include_directories(troupe_vocab PUBLIC ${CMAKE_CURRENT_LIST_DIR}/src)
target_link_libraries(troupe_vocab
  PUBLIC troupe_plugin_api
  PRIVATE fmt::fmt nlohmann_json::nlohmann_json)
