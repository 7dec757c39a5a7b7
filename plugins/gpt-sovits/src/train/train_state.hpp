#pragma once
// The parts of a resumable training state that S1 and S2 share: one safetensors file with the
// tensors (weights, gradients, optimizer moments, the RNG states) and one JSON metadata entry
// (position, optimizer scalars, schedule, and the run's identity, checked on resume).
//
// Each trainer decides which tensors and scalars it keeps; this file owns the file format, the
// identity check, the RNG round-trip and the errors, so both read and fail alike.

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace troupe::st {
class File;
}

namespace troupe::sovits::train {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Writes `tensors`, the CPU generator's state ("rng.cpu") and, on CUDA, the device generator's
// ("rng.device") to `path`, with `meta` plus "format" and "identity" under the metadata key `key`.
void write_state(const std::string& path, NamedTensors tensors, const c10::Device& device, const char* key,
                 nlohmann::json meta, const nlohmann::json& identity);

// A state file opened for resuming: the file and its metadata, already checked to carry `key` and
// the same "identity" as this run (else Error invalid_file / invalid_argument naming the path).
struct OpenedState {
    std::string path;
    std::shared_ptr<const st::File> file;
    nlohmann::json meta;

    // The tensor `name`, or Error invalid_file "PATH: missing 'name'".
    at::Tensor tensor(const std::string& name) const;
    // The metadata field `name`, or Error invalid_file naming the path and the field; integer()
    // also requires an integer.
    const nlohmann::json& field(const std::string& name) const;
    int64_t integer(const std::string& name) const;
    bool contains(const std::string& name) const;
    // (suffix, tensor) of every tensor whose name starts with `prefix`, the prefix removed.
    NamedTensors with_prefix(const std::string& prefix) const;
    // Sets the CPU (and, on CUDA and when present, the device) generator back.
    void restore_rng(const c10::Device& device) const;
};
OpenedState open_state(const std::string& path, const char* key, const char* what, const nlohmann::json& identity);

// "m:ss" or "h:mm:ss" for progress lines; "?" when not finite.
std::string fmt_duration(double seconds);

}  // namespace troupe::sovits::train
