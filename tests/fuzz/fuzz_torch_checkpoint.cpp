// libFuzzer target for the restricted unpickler and the torch.save zip reader.
// Build: cmake -DTROUPE_BUILD_FUZZERS=ON -DCMAKE_CXX_COMPILER=clang++ …; run:
//   fuzz_torch_checkpoint corpus/ (seed it with data.pkl files and small .ckpt archives).
// The first input byte picks the entry point: raw pickle or whole archive. Any troupe::Error is an
// expected rejection; anything else (crash, sanitizer report, other exception) is a finding.
#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const bool archive = data[0] & 1;
    try {
        if (archive) {
            const auto ck = troupe::pt::Checkpoint::from_bytes(data + 1, size - 1, "fuzz.ckpt");
            try {
                (void)ck.state_dict("weight");
            } catch (const troupe::Error&) {
            }
            (void)troupe::pt::to_json(ck.root());
        } else {
            auto p = troupe::pt::unpickle(data + 1, size - 1, "fuzz.pkl");
            (void)troupe::pt::to_json(p.root());
        }
    } catch (const troupe::Error&) {
    }
    return 0;
}
