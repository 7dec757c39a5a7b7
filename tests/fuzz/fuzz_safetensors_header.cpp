// libFuzzer target for troupe::st::parse_header (the safetensors header of an untrusted file):
// any input must either parse into infos whose offsets lie inside the buffer, or throw troupe::Error.
#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        size_t data_offset = 0;
        std::map<std::string, std::string> metadata;
        const auto infos = troupe::st::parse_header(data, size, "fuzz.safetensors", &metadata, &data_offset);
        if (data_offset > size) std::abort();
        for (const auto& [name, info] : infos)
            if (info.begin > info.end || info.end > size - data_offset) std::abort();
    } catch (const troupe::Error&) {
    }
    return 0;
}
