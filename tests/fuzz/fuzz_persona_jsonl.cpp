// libFuzzer target for persona SFT JSONL (troupe::data::check_files, what `troupe data check` and
// training read). The checker reports problems and must never throw or crash; its JSON summary
// must serialise.
#include "fuzz_util.hpp"

#include <troupe/data/check.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = troupe::fuzz::write_input("persona.jsonl", data, size);
    const troupe::data::CheckReport report = troupe::data::check_files({path});
    (void)troupe::data::to_json(report);
    return 0;
}
