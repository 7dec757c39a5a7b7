// Shared helpers of the llama tests: the llama-lora fixture folder and JSON/file helpers.
#pragma once

#include "../common/conformance.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace llm_test {

namespace fs = std::filesystem;

inline fs::path fixture_dir() {
    return troupe::test::conformance_dir("llama-lora");
}

inline std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline nlohmann::json load_json(const fs::path& p) { return nlohmann::json::parse(slurp(p)); }

/// A fresh scratch folder under the build tree.
inline fs::path scratch(const std::string& name) {
    fs::path p = fs::path(TROUPE_BINARY_DIR) / "tests-scratch" / "llm" / name;
    fs::remove_all(p);
    fs::create_directories(p);
    return p;
}

}  // namespace llm_test
