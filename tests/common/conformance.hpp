// Test-only: where the conformance fixtures are. Every conformance test reads its fixture set from
// here, so the rule lives in one place: the folder named by TROUPE_CONFORMANCE_DIR when it is set and
// not empty, else ../shared/conformance beside the source tree. Include as "../common/conformance.hpp".
#pragma once

#include <cstdlib>
#include <filesystem>

namespace troupe::test {

/// The fixture root (its subfolders are the fixture sets: llama-lora, gpt-sovits, ...).
inline std::filesystem::path conformance_root() {
    if (const char* env = std::getenv("TROUPE_CONFORMANCE_DIR"); env && *env) return env;
    return std::filesystem::path(TROUPE_SOURCE_DIR) / ".." / "shared" / "conformance";
}

/// One fixture set, e.g. conformance_dir("gpt-sovits").
inline std::filesystem::path conformance_dir(const char* set) { return conformance_root() / set; }

}  // namespace troupe::test
