// libFuzzer target for persona SFT JSONL (troupe::data::check_text: the checker `troupe data check`
// and training run on a file's lines; check_files reads each file into it). The checker reports
// problems and must never throw or crash; its JSON summary (written directly, not as a tree) must
// be valid JSON.
#include <troupe/data/check.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const troupe::data::CheckReport report = troupe::data::check_text("persona.jsonl", text);
    const std::string summary = troupe::data::to_json(report, size % 2 ? -1 : 2);
    // Valid JSON (every fourth input: the check costs a parse; the layout is unit-tested).
    if (size % 4 == 0 && !nlohmann::json::accept(summary)) std::abort();
    return 0;
}
