// libFuzzer target for sharded safetensors checkpoints: the input is a
// model.safetensors.index.json beside two small valid shards (a.safetensors, b.safetensors);
// st::Checkpoint::open_dir must open it or throw troupe::Error, and every tensor it lists must be
// found in the file it names with its header offsets inside that file.
#include "fuzz_util.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <cstring>

namespace {

/// A one-tensor safetensors file: `name` as F32 of shape [2].
std::string shard(const std::string& name) {
    const std::string header = "{\"" + name + "\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    std::string out(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(out.data(), &n, 8);
    return out + header + std::string(8, '\0');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const bool shards_written = [] {
        troupe::fuzz::write_input("ckpt/a.safetensors", shard("w.a"));
        troupe::fuzz::write_input("ckpt/b.safetensors", shard("w.b"));
        return true;
    }();
    (void)shards_written;
    troupe::fuzz::write_input("ckpt/model.safetensors.index.json", data, size);
    try {
        const auto cp = troupe::st::Checkpoint::open_dir(troupe::fuzz::scratch_dir() + "/ckpt");
        for (const std::string& name : cp.names()) {
            const auto& info = cp.info(name);
            if (info.begin > info.end) std::abort();
            (void)cp.file_of(name);
        }
    } catch (const troupe::Error&) {
    }
    return 0;
}
