// troupe/torch/safetensors.hpp — bounds-checked safetensors reading (memory-mapped) and writing.
//
// A safetensors file is untrusted input: the header length, JSON, dtypes, shapes and offsets are all
// checked against the file size before any tensor is touched. Errors are troupe::Error(invalid_file)
// naming the file (and the tensor where there is one).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace troupe::st {

struct TensorInfo {
    std::string dtype;            // "F32", "F16", "BF16", "I64", "I32", "U8", "I8", "F64", "BOOL", "I16"
    std::vector<int64_t> shape;
    uint64_t begin = 0, end = 0;  // byte offsets inside the data section
};

/// Parses a header from memory. `data` is the whole file; throws Error naming `path`.
/// Exposed for the fuzzer; normal users call File::open.
std::map<std::string, TensorInfo> parse_header(const uint8_t* data, size_t size, const std::string& path,
                                               std::map<std::string, std::string>* metadata = nullptr,
                                               size_t* data_offset = nullptr);

/// One safetensors file, memory-mapped read-only. Tensors returned by tensor() share the mapping
/// (zero copy, kept alive by the tensors) and must be treated as read-only.
class File {
public:
    static File open(const std::string& path);

    const std::string& path() const { return path_; }
    bool contains(const std::string& name) const { return infos_.count(name) != 0; }
    std::vector<std::string> names() const;
    const TensorInfo& info(const std::string& name) const;
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    /// A CPU tensor viewing the file's bytes (read-only); `clone()` it before modifying.
    at::Tensor tensor(const std::string& name) const;

private:
    struct Mapping;
    std::string path_;
    std::shared_ptr<Mapping> mapping_;
    size_t data_offset_ = 0;
    std::map<std::string, TensorInfo> infos_;
    std::map<std::string, std::string> metadata_;
};

/// A checkpoint that is either one `model.safetensors` or shards listed by
/// `model.safetensors.index.json` (its weight_map), looked up by tensor name.
class Checkpoint {
public:
    /// `dir` holds model.safetensors or model.safetensors.index.json; `stem` = "model" by default.
    static Checkpoint open_dir(const std::string& dir, const std::string& stem = "model");
    static Checkpoint open_file(const std::string& path);

    bool contains(const std::string& name) const { return where_.count(name) != 0; }
    std::vector<std::string> names() const;
    const TensorInfo& info(const std::string& name) const;
    at::Tensor tensor(const std::string& name) const;  // throws naming the tensor if absent
    /// The file the tensor lives in (for error messages).
    const std::string& file_of(const std::string& name) const;
    const std::string& description() const { return description_; }

private:
    std::vector<File> files_;
    std::map<std::string, size_t> where_;
    std::string description_;
};

/// Writes tensors (any device; contiguous copies are made) to `path` atomically
/// (written to `path.tmp`, then renamed). Names are written in sorted order.
void save(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
          const std::map<std::string, std::string>& metadata = {});

}  // namespace troupe::st
