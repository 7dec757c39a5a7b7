// troupe/torch/torch_checkpoint.hpp — reading PyTorch `torch.save` checkpoints (.ckpt, .pth, .pt)
// without Python, through a restricted unpickler that never executes anything.
//
// What is understood:
//  - the zip container (`<prefix>/data.pkl` + `<prefix>/data/<key>` raw little-endian storages; the
//    prefix is taken from the entry names; GPT-SoVITS version tags over "PK" are accepted);
//  - pickle protocols 0-5 opcodes that torch and plain Python containers use;
//  - tensors: torch._utils._rebuild_tensor_v2 / _rebuild_tensor / _rebuild_parameter(_with_state),
//    torch._tensor._rebuild_from_type_v2, storages by dtype (torch.HalfStorage, ...);
//  - collections.OrderedDict, dict, list, tuple, set, None/bool/int/float/str/bytes
//    (incl. protocol-2 bytes via _codecs.encode), torch.Size, torch.device, torch dtypes;
//  - any other class instantiated through NEWOBJ / copyreg._reconstructor (e.g. GPT-SoVITS's
//    pickled `utils.HParams`) becomes an inert Object: its class name, constructor arguments and
//    the state given to BUILD. Nothing is ever imported or called.
// Refused with troupe::Error(invalid_file): unknown opcodes, REDUCE of any callable not listed
// above, GLOBALs naming modules that can run code (os, subprocess, builtins.eval, ...), storages
// outside the archive, tensor views outside their storage, truncated data.
#pragma once

#include <ATen/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::pt {

/// One unpickled value. Values are owned by their Pickle (an arena): references stay valid as long
/// as the Pickle lives; cycles are harmless.
class Value {
public:
    enum class Kind { none, boolean, integer, floating, string, bytes, list, tuple, dict, set, tensor, global, object };

    Kind kind() const { return kind_; }
    const char* kind_name() const;
    bool is_none() const { return kind_ == Kind::none; }
    bool is_dict() const { return kind_ == Kind::dict; }
    bool is_tensor() const { return kind_ == Kind::tensor; }
    bool is_string() const { return kind_ == Kind::string; }
    bool is_object() const { return kind_ == Kind::object; }

    bool as_bool() const;
    int64_t as_int() const;          // integer or boolean
    double as_double() const;        // floating or integer
    const std::string& as_string() const;  // string or bytes
    const at::Tensor& as_tensor() const;
    /// Elements of a list, tuple or set.
    const std::vector<const Value*>& items() const;
    /// Entries of a dict (insertion order).
    const std::vector<std::pair<const Value*, const Value*>>& entries() const;
    /// "module.name" of a global, or of an object's class.
    const std::string& class_name() const;
    /// An object's BUILD state (nullptr if none) and constructor arguments (nullptr if none).
    const Value* state() const { return state_; }
    const Value* args() const { return args_; }

    /// Looks up a string key in a dict, or in an object's state dict (attribute lookup, as for
    /// HParams). nullptr if absent or not a mapping.
    const Value* find(std::string_view key) const;
    /// As find(), throwing troupe::Error(invalid_file) if absent.
    const Value& at(std::string_view key) const;

private:
    friend class Unpickler;
    Kind kind_ = Kind::none;
    bool b_ = false;
    int64_t i_ = 0;
    double f_ = 0;
    std::string s_;  // string, bytes, or the class name of a global/object
    std::vector<const Value*> items_;
    std::vector<std::pair<const Value*, const Value*>> entries_;
    at::Tensor tensor_;
    const Value* state_ = nullptr;
    const Value* args_ = nullptr;
};

/// The result of unpickling: the arena of values and the root.
class Pickle {
public:
    const Value& root() const { return *root_; }

private:
    friend class Unpickler;
    std::deque<Value> arena_;
    const Value* root_ = nullptr;
};

/// Supplies the storage of a persistent id ('storage', <StorageType>, key, location, numel):
/// a 1-D CPU tensor of `numel` elements of `dtype`.
using StorageLoader = std::function<at::Tensor(const std::string& key, at::ScalarType dtype, int64_t numel)>;

/// Unpickles `data[0, size)`. `what` names the input in errors. Without a loader, persistent ids
/// (tensor storages) are refused.
Pickle unpickle(const uint8_t* data, size_t size, const std::string& what, const StorageLoader& loader = {});

/// Plain data as JSON: dicts (string keys), lists/tuples/sets, primitives, objects as their state
/// (an HParams config becomes a JSON object); tensors as {"tensor": [shape], "dtype": "..."}.
/// Throws on nesting deeper than 256 (or a cycle).
nlohmann::json to_json(const Value& v);

/// A torch.save zip checkpoint, memory-mapped copy-on-write: tensors share the file's pages until
/// written to (in-place writes are safe and stay private to the process).
class Checkpoint {
public:
    static Checkpoint open(const std::string& path);
    /// Parses an in-memory copy of a file (the bytes are copied); for tests and fuzzing.
    static Checkpoint from_bytes(const uint8_t* data, size_t size, const std::string& name);

    const std::string& path() const { return path_; }
    /// "" for a normal file, otherwise the two bytes that replaced "PK" (e.g. "05" = v2Pro).
    const std::string& version_tag() const { return version_tag_; }
    /// The record prefix (the `archive` or temporary-file name in front of `/data.pkl`).
    const std::string& prefix() const { return prefix_; }
    const Value& root() const { return pickle_->root(); }

    /// Tensors of a state dict found at `key` of the root dict ("" = the root itself), with
    /// `strip_prefix` removed from the names that carry it. Throws if a value is not a tensor.
    std::map<std::string, at::Tensor> state_dict(const std::string& key = "weight",
                                                 const std::string& strip_prefix = "") const;

private:
    struct Buffer;
    void load(std::shared_ptr<Buffer> buf);
    std::string path_, version_tag_, prefix_;
    std::shared_ptr<Buffer> buffer_;
    std::shared_ptr<Pickle> pickle_;
};

}  // namespace troupe::pt
