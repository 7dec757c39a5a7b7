// troupe/torch/torch_save.hpp — writing PyTorch `torch.save` files (the zip format torch ≥ 1.6
// writes by default) without Python: what upstream GPT-SoVITS exports (`{"weight": OrderedDict of
// fp16 tensors, "config": dict, "info": str}`) and what `torch.load` (weights_only or not), the
// project's own reader (torch_checkpoint.hpp) and Python's zipfile read back.
//
// The pickle is protocol 2 and uses only what torch's weights_only unpickler allows: dicts,
// collections.OrderedDict, lists, tuples, str, int, float, bool, None and tensors rebuilt by
// torch._utils._rebuild_tensor_v2 from typed storages (torch.HalfStorage, ...). The archive is a
// stored (uncompressed) zip with correct CRC-32s and 64-byte aligned tensor data, entries named
// `<stem>/data.pkl`, `<stem>/data/<i>`, `<stem>/byteorder`, `<stem>/version` like torch's own.
#pragma once

#include <ATen/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace troupe::pt {

/// A value to pickle: a small tree built by the caller.
class SaveValue {
public:
    enum class Kind { none, boolean, integer, floating, string, list, tuple, dict, ordered_dict, tensor };

    SaveValue() = default;  // None
    static SaveValue boolean(bool v);
    static SaveValue integer(int64_t v);
    static SaveValue floating(double v);
    static SaveValue string(std::string v);
    static SaveValue list(std::vector<SaveValue> items);
    static SaveValue tuple(std::vector<SaveValue> items);
    /// A plain dict (string keys, insertion order kept in the file).
    static SaveValue dict(std::vector<std::pair<std::string, SaveValue>> entries = {});
    /// A collections.OrderedDict (string keys), what state_dict() returns.
    static SaveValue ordered_dict(std::vector<std::pair<std::string, SaveValue>> entries = {});
    /// A tensor (any device and layout; it is written as a contiguous CPU copy of its values).
    static SaveValue tensor(at::Tensor t);
    /// Plain JSON data: objects → dict, arrays → list, numbers, strings, booleans, null.
    static SaveValue from_json(const nlohmann::json& j);

    Kind kind() const { return kind_; }
    /// Adds an entry to a dict or ordered_dict (throws otherwise).
    SaveValue& set(std::string key, SaveValue value);

private:
    friend class PickleWriter;
    Kind kind_ = Kind::none;
    bool b_ = false;
    int64_t i_ = 0;
    double f_ = 0;
    std::string s_;
    std::vector<SaveValue> items_;
    std::vector<std::pair<std::string, SaveValue>> entries_;
    at::Tensor tensor_;
};

/// Writes `root` as a torch.save zip to `path` atomically: into `<path>.tmp-<pid>` beside it, then
/// renamed over `path`, so an interrupted write never leaves a truncated file under the final name.
/// The record prefix is the file's stem (as torch names it). Throws troupe::Error naming the file.
void save(const std::string& path, const SaveValue& root);

/// The same archive in memory (for tests); `record_prefix` is the folder name inside the zip.
std::string save_to_bytes(const SaveValue& root, const std::string& record_prefix = "archive");

}  // namespace troupe::pt
