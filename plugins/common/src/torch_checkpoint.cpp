#include "troupe/torch/torch_checkpoint.hpp"

#include "troupe/torch/zip_reader.hpp"

#include <troupe/status.hpp>

#include <ATen/Functions.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <set>
#include <unordered_map>

namespace troupe::pt {

// ---------------------------------------------------------------------------------------------
// Value accessors

const char* Value::kind_name() const {
    switch (kind_) {
        case Kind::none: return "None";
        case Kind::boolean: return "bool";
        case Kind::integer: return "int";
        case Kind::floating: return "float";
        case Kind::string: return "str";
        case Kind::bytes: return "bytes";
        case Kind::list: return "list";
        case Kind::tuple: return "tuple";
        case Kind::dict: return "dict";
        case Kind::set: return "set";
        case Kind::tensor: return "tensor";
        case Kind::global: return "global";
        case Kind::object: return "object";
    }
    return "?";
}

namespace {
[[noreturn]] void type_error(const Value& v, const char* wanted) {
    throw Error(Errc::invalid_file, fmt::format("checkpoint value: expected {}, found {}", wanted, v.kind_name()));
}
}  // namespace

bool Value::as_bool() const {
    if (kind_ != Kind::boolean) type_error(*this, "bool");
    return b_;
}
int64_t Value::as_int() const {
    if (kind_ == Kind::boolean) return b_ ? 1 : 0;
    if (kind_ != Kind::integer) type_error(*this, "int");
    return i_;
}
double Value::as_double() const {
    if (kind_ == Kind::integer) return double(i_);
    if (kind_ != Kind::floating) type_error(*this, "float");
    return f_;
}
const std::string& Value::as_string() const {
    if (kind_ != Kind::string && kind_ != Kind::bytes) type_error(*this, "str");
    return s_;
}
const at::Tensor& Value::as_tensor() const {
    if (kind_ != Kind::tensor) type_error(*this, "tensor");
    return tensor_;
}
const std::vector<const Value*>& Value::items() const {
    if (kind_ != Kind::list && kind_ != Kind::tuple && kind_ != Kind::set && kind_ != Kind::object)
        type_error(*this, "list/tuple/set");
    return items_;
}
const std::vector<std::pair<const Value*, const Value*>>& Value::entries() const {
    if (kind_ != Kind::dict && kind_ != Kind::object) type_error(*this, "dict");
    return entries_;
}
const std::string& Value::class_name() const {
    if (kind_ != Kind::global && kind_ != Kind::object) type_error(*this, "class");
    return s_;
}

const Value* Value::find(std::string_view key) const {
    const Value* mapping = this;
    if (kind_ == Kind::object) {
        // Attributes: the BUILD state (a dict, or (dict, slots)), then dict-subclass items.
        const Value* st = state_;
        if (st && st->kind_ == Kind::tuple && !st->items_.empty()) st = st->items_[0];
        if (st && st->kind_ == Kind::dict)
            if (const Value* v = st->find(key)) return v;
        mapping = this;
    } else if (kind_ != Kind::dict) {
        return nullptr;
    }
    for (auto it = mapping->entries_.rbegin(); it != mapping->entries_.rend(); ++it)  // last wins
        if (it->first->kind_ == Kind::string && it->first->s_ == key) return it->second;
    return nullptr;
}

const Value& Value::at(std::string_view key) const {
    if (const Value* v = find(key)) return *v;
    throw Error(Errc::invalid_file, fmt::format("checkpoint value: no key '{}' in this {}", key, kind_name()));
}

// ---------------------------------------------------------------------------------------------
// Unpickler

namespace {

bool refused_global(const std::string& module, const std::string& name) {
    static const std::set<std::string> refused_modules = {
        "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "pickle", "_pickle",
        "marshal", "types", "code", "codeop", "runpy", "ctypes", "pty", "webbrowser", "commands",
        "multiprocessing", "asyncio", "signal", "threading", "_thread", "pdb", "timeit", "platform", "io",
        "_io", "tempfile", "glob", "pathlib", "operator", "functools", "inspect", "gc", "ssl", "http",
        "urllib", "requests", "zipimport", "pkgutil", "site", "sysconfig", "distutils", "setuptools",
        "builtins", "__builtin__", "_posixsubprocess", "popen2", "spawn", "execnet", "pip", "numpy.testing"};
    static const std::set<std::string> builtins_allowed = {"set", "frozenset", "bytearray", "bytes", "str", "int",
                                                           "float", "list", "tuple", "dict", "bool", "object",
                                                           "complex", "slice", "range"};
    const std::string root = module.substr(0, module.find('.'));
    if (module == "builtins" || module == "__builtin__") return builtins_allowed.count(name) == 0;
    if (refused_modules.count(module) || refused_modules.count(root)) return true;
    if (module == "_codecs") return name != "encode";
    if (module == "copy_reg" || module == "copyreg") return name != "_reconstructor";
    // Dunder names (e.g. torch.__builtins__, x.__import__) are a classic way to reach eval.
    return name.find("__") != std::string::npos || name.find('.') != std::string::npos;
}

std::optional<at::ScalarType> storage_dtype(const std::string& cls) {
    static const std::unordered_map<std::string, at::ScalarType> table = {
        {"torch.HalfStorage", at::kHalf},       {"torch.FloatStorage", at::kFloat},
        {"torch.DoubleStorage", at::kDouble},   {"torch.BFloat16Storage", at::kBFloat16},
        {"torch.LongStorage", at::kLong},       {"torch.IntStorage", at::kInt},
        {"torch.ShortStorage", at::kShort},     {"torch.CharStorage", at::kChar},
        {"torch.ByteStorage", at::kByte},       {"torch.BoolStorage", at::kBool},
        {"torch.UntypedStorage", at::kByte},    {"torch.ComplexFloatStorage", at::kComplexFloat},
        {"torch.ComplexDoubleStorage", at::kComplexDouble}};
    auto it = table.find(cls);
    if (it == table.end()) return std::nullopt;
    return it->second;
}

// UTF-8 → Latin-1 bytes (protocol-2 `bytes` are pickled as _codecs.encode(latin1 text, "latin1")).
std::string utf8_to_latin1(const std::string& s, bool& ok) {
    std::string out;
    ok = true;
    for (size_t i = 0; i < s.size(); ++i) {
        const auto c = uint8_t(s[i]);
        if (c < 0x80) {
            out.push_back(char(c));
        } else if ((c & 0xE0) == 0xC0 && i + 1 < s.size() && c <= 0xC3) {
            out.push_back(char(((c & 0x1F) << 6) | (uint8_t(s[i + 1]) & 0x3F)));
            ++i;
        } else {
            ok = false;
            return {};
        }
    }
    return out;
}

}  // namespace

class Unpickler {
public:
    Unpickler(const uint8_t* data, size_t size, const std::string& what, const StorageLoader& loader)
        : p_(data), size_(size), what_(what), loader_(loader) {}

    Pickle run() {
        while (true) {
            if (pos_ >= size_) fail("ends without STOP (truncated)");
            op_pos_ = pos_;
            const uint8_t op = p_[pos_++];
            if (op == '.') break;
            step(op);
        }
        if (stack_.size() != 1) fail(fmt::format("STOP with {} values on the stack (expected 1)", stack_.size()));
        out_.root_ = stack_.back();
        return std::move(out_);
    }

private:
    using Kind = Value::Kind;

    [[noreturn]] void fail(const std::string& msg) const {
        throw Error(Errc::invalid_file, fmt::format("{}: malformed or refused pickle at byte {}: {}", what_, op_pos_, msg));
    }

    // ---- input
    const uint8_t* take(uint64_t n) {
        if (n > size_ - pos_) fail(fmt::format("needs {} more bytes, {} left (truncated)", n, size_ - pos_));
        const uint8_t* r = p_ + pos_;
        pos_ += size_t(n);
        return r;
    }
    uint64_t le(int n) {
        const uint8_t* b = take(n);
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
        return v;
    }
    std::string line() {
        const size_t start = pos_;
        while (pos_ < size_ && p_[pos_] != '\n') ++pos_;
        if (pos_ >= size_) fail("text argument without newline (truncated)");
        std::string s(reinterpret_cast<const char*>(p_ + start), pos_ - start);
        ++pos_;
        return s;
    }
    std::string bytes(uint64_t n) {
        const uint8_t* b = take(n);
        return std::string(reinterpret_cast<const char*>(b), size_t(n));
    }

    // ---- values
    Value* make(Kind k) {
        out_.arena_.emplace_back();
        Value* v = &out_.arena_.back();
        v->kind_ = k;
        return v;
    }
    Value* make_int(int64_t i) {
        Value* v = make(Kind::integer);
        v->i_ = i;
        return v;
    }
    Value* make_str(std::string s, Kind k = Kind::string) {
        Value* v = make(k);
        v->s_ = std::move(s);
        return v;
    }

    // ---- stack
    void push(Value* v) { stack_.push_back(v); }
    Value* pop() {
        if (stack_.size() <= mark_floor()) fail("pops an empty stack");
        Value* v = stack_.back();
        stack_.pop_back();
        return v;
    }
    Value* top() {
        if (stack_.size() <= mark_floor()) fail("reads an empty stack");
        return stack_.back();
    }
    size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
    std::vector<Value*> pop_mark() {
        if (marks_.empty()) fail("needs a MARK but there is none");
        const size_t m = marks_.back();
        marks_.pop_back();
        std::vector<Value*> items(stack_.begin() + m, stack_.end());
        stack_.resize(m);
        return items;
    }

    void memo_put(uint64_t idx) { memo_[idx] = top(); }
    Value* memo_get(uint64_t idx) {
        auto it = memo_.find(idx);
        if (it == memo_.end()) fail(fmt::format("memo key {} was never stored", idx));
        return it->second;
    }

    static void set_item(Value* d, Value* k, Value* v) { d->entries_.emplace_back(k, v); }

    void setitems(Value* target, const std::vector<Value*>& kv) {
        if (kv.size() % 2) fail("SETITEMS with an odd number of values");
        if (target->kind_ != Kind::dict && target->kind_ != Kind::object)
            fail(fmt::format("SETITEM on a {}", target->kind_name()));
        for (size_t i = 0; i < kv.size(); i += 2) set_item(target, kv[i], kv[i + 1]);
    }
    void appends(Value* target, const std::vector<Value*>& items) {
        if (target->kind_ != Kind::list && target->kind_ != Kind::object && target->kind_ != Kind::set)
            fail(fmt::format("APPEND on a {}", target->kind_name()));
        target->items_.insert(target->items_.end(), items.begin(), items.end());
    }

    Value* tuple_of(std::vector<Value*> items) {
        Value* t = make(Kind::tuple);
        t->items_.assign(items.begin(), items.end());
        return t;
    }

    Value* global(const std::string& module, const std::string& name) {
        if (module.empty() || name.empty()) fail("GLOBAL with an empty module or name");
        if (refused_global(module, name))
            fail(fmt::format("refuses GLOBAL {}.{} (a callable that could run code is never resolved)", module, name));
        return make_str(module + "." + name, Kind::global);
    }

    // ---- calls (only the ones listed in the header; nothing is executed)
    const std::vector<const Value*>& args_of(const Value* args, const std::string& fn, size_t min_n, size_t max_n) {
        if (args->kind_ != Kind::tuple) fail(fmt::format("{} called with {} instead of a tuple", fn, args->kind_name()));
        if (args->items_.size() < min_n || args->items_.size() > max_n)
            fail(fmt::format("{} called with {} arguments", fn, args->items_.size()));
        return args->items_;
    }
    int64_t int_arg(const Value* v, const std::string& fn) {
        if (v->kind_ != Kind::integer) fail(fmt::format("{}: expected an int argument, found {}", fn, v->kind_name()));
        return v->i_;
    }
    std::vector<int64_t> ints_arg(const Value* v, const std::string& fn) {
        if (v->kind_ != Kind::tuple && v->kind_ != Kind::list)
            fail(fmt::format("{}: expected a tuple of ints, found {}", fn, v->kind_name()));
        if (v->items_.size() > 64) fail(fmt::format("{}: {} dimensions", fn, v->items_.size()));
        std::vector<int64_t> r;
        for (const Value* x : v->items_) r.push_back(int_arg(x, fn));
        return r;
    }

    Value* rebuild_tensor(const std::vector<const Value*>& a, const std::string& fn) {
        const Value* storage = a[0];
        if (storage->kind_ != Kind::tensor || storage->tensor_.dim() != 1)
            fail(fmt::format("{}: first argument is a {}, not a storage", fn, storage->kind_name()));
        const int64_t offset = int_arg(a[1], fn);
        const auto sizes = ints_arg(a[2], fn);
        const auto strides = ints_arg(a[3], fn);
        if (sizes.size() != strides.size()) fail(fmt::format("{}: {} sizes but {} strides", fn, sizes.size(), strides.size()));
        const int64_t numel = storage->tensor_.numel();
        if (offset < 0 || offset > numel) fail(fmt::format("{}: storage offset {} outside a storage of {} elements", fn, offset, numel));
        bool empty = false;
        __int128 last = offset;
        for (size_t i = 0; i < sizes.size(); ++i) {
            if (sizes[i] < 0 || strides[i] < 0) fail(fmt::format("{}: negative size or stride", fn));
            if (sizes[i] == 0) empty = true;
            last += __int128(sizes[i] > 0 ? sizes[i] - 1 : 0) * strides[i];
        }
        if (!empty && last >= numel)
            fail(fmt::format("{}: view (offset {}, sizes {}, strides {}) reads past a storage of {} elements", fn,
                             offset, fmt::join(sizes, "x"), fmt::join(strides, ","), numel));
        Value* t = make(Kind::tensor);
        t->tensor_ = storage->tensor_.as_strided(sizes, strides, offset);
        return t;
    }

    Value* call(const Value* fn_value, const Value* args) {
        if (fn_value->kind_ != Kind::global)
            fail(fmt::format("REDUCE of a {} (only known globals may be called)", fn_value->kind_name()));
        const std::string& fn = fn_value->s_;
        if (fn == "collections.OrderedDict" || fn == "builtins.dict" || fn == "__builtin__.dict") {
            const auto& a = args_of(args, fn, 0, 1);
            Value* d = make(Kind::dict);
            if (!a.empty()) {
                if (a[0]->kind_ != Kind::list && a[0]->kind_ != Kind::tuple) fail(fn + ": argument is not a list of pairs");
                for (const Value* pair : a[0]->items_) {
                    if (pair->kind_ != Kind::tuple || pair->items_.size() != 2) fail(fn + ": item is not a pair");
                    d->entries_.emplace_back(pair->items_[0], pair->items_[1]);
                }
            }
            return d;
        }
        if (fn == "builtins.set" || fn == "__builtin__.set" || fn == "builtins.frozenset" || fn == "__builtin__.frozenset") {
            const auto& a = args_of(args, fn, 0, 1);
            Value* s = make(Kind::set);
            if (!a.empty()) {
                if (a[0]->kind_ != Kind::list && a[0]->kind_ != Kind::tuple) fail(fn + ": argument is not a list");
                s->items_ = a[0]->items_;
            }
            return s;
        }
        if (fn == "_codecs.encode") {
            const auto& a = args_of(args, fn, 1, 2);
            if (a[0]->kind_ != Kind::string) fail(fn + ": argument is not a str");
            std::string enc = a.size() > 1 && a[1]->kind_ == Kind::string ? a[1]->s_ : "utf-8";
            if (enc == "latin1" || enc == "latin-1" || enc == "iso-8859-1") {
                bool ok = false;
                std::string b = utf8_to_latin1(a[0]->s_, ok);
                if (!ok) fail(fn + ": text is not latin-1");
                return make_str(std::move(b), Kind::bytes);
            }
            if (enc == "utf-8" || enc == "utf8") return make_str(a[0]->s_, Kind::bytes);
            fail(fmt::format("{}: unsupported encoding '{}'", fn, enc));
        }
        if (fn == "copy_reg._reconstructor" || fn == "copyreg._reconstructor") {
            const auto& a = args_of(args, fn, 3, 3);
            if (a[0]->kind_ != Kind::global) fail(fn + ": class argument is not a global");
            Value* o = make(Kind::object);
            o->s_ = a[0]->s_;
            o->args_ = a[2];
            return o;
        }
        if (fn == "torch._utils._rebuild_tensor_v2") return rebuild_tensor(args_of(args, fn, 4, 7), fn);
        if (fn == "torch._utils._rebuild_tensor") return rebuild_tensor(args_of(args, fn, 4, 4), fn);
        if (fn == "torch._utils._rebuild_parameter" || fn == "torch._utils._rebuild_parameter_with_state") {
            const auto& a = args_of(args, fn, 3, 4);
            if (a[0]->kind_ != Kind::tensor) fail(fn + ": data is not a tensor");
            return const_cast<Value*>(a[0]);
        }
        if (fn == "torch._tensor._rebuild_from_type_v2") {
            const auto& a = args_of(args, fn, 4, 4);
            if (++call_depth_ > 8) fail(fn + ": nested too deeply");
            Value* r = call(a[0], a[2]);
            --call_depth_;
            return r;
        }
        if (fn == "torch.Size") {
            const auto& a = args_of(args, fn, 1, 1);
            Value* t = make(Kind::tuple);
            t->items_ = a[0]->items_;
            return t;
        }
        if (fn == "torch.device") {
            const auto& a = args_of(args, fn, 1, 2);
            if (a[0]->kind_ != Kind::string) fail(fn + ": argument is not a str");
            return make_str(a[0]->s_);
        }
        fail(fmt::format("REDUCE of {} refused (not a known tensor or container constructor)", fn));
    }

    Value* persistent(const Value* pid) {
        if (!loader_) fail("persistent id (tensor storage) outside a checkpoint archive");
        if (pid->kind_ != Kind::tuple || pid->items_.size() != 5 || pid->items_[0]->kind_ != Kind::string ||
            pid->items_[0]->s_ != "storage")
            fail("persistent id is not ('storage', type, key, location, numel)");
        const auto& a = pid->items_;
        if (a[1]->kind_ != Kind::global) fail("storage type is not a global");
        const auto dtype = storage_dtype(a[1]->s_);
        if (!dtype) fail(fmt::format("unsupported storage type {}", a[1]->s_));
        if (a[2]->kind_ != Kind::string) fail("storage key is not a str");
        if (a[4]->kind_ != Kind::integer || a[4]->i_ < 0) fail("storage size is not a non-negative int");
        Value* v = make(Kind::tensor);
        v->tensor_ = loader_(a[2]->s_, *dtype, a[4]->i_);
        return v;
    }

    void step(uint8_t op) {
        switch (op) {
            case 0x80: {  // PROTO
                const auto proto = take(1)[0];
                if (proto > 5) fail(fmt::format("pickle protocol {} is not supported", proto));
                break;
            }
            case 0x95: take(8); break;  // FRAME (length only)
            case '(': marks_.push_back(stack_.size()); break;
            case '0': pop(); break;
            case '1': pop_mark(); break;
            case '2': push(top()); break;
            case 'N': push(make(Kind::none)); break;
            case 0x88: case 0x89: {
                Value* v = make(Kind::boolean);
                v->b_ = op == 0x88;
                push(v);
                break;
            }
            case 'J': push(make_int(int32_t(uint32_t(le(4))))); break;
            case 'K': push(make_int(int64_t(le(1)))); break;
            case 'M': push(make_int(int64_t(le(2)))); break;
            case 0x8a: case 0x8b: {  // LONG1 / LONG4: little-endian two's complement
                const uint64_t n = le(op == 0x8a ? 1 : 4);
                if (n > 8) fail(fmt::format("integer of {} bytes is too large", n));
                const uint8_t* b = take(n);
                uint64_t v = 0;
                for (uint64_t i = n; i-- > 0;) v = (v << 8) | b[i];
                if (n > 0 && n < 8 && (b[n - 1] & 0x80)) v |= ~uint64_t(0) << (8 * n);
                push(make_int(int64_t(v)));
                break;
            }
            case 'I': case 'L': {  // INT / LONG (text): "I01\n" / "I00\n" are bools in protocol 0
                std::string s = line();
                if (op == 'L' && !s.empty() && s.back() == 'L') s.pop_back();
                if (op == 'I' && (s == "01" || s == "00")) {
                    Value* v = make(Kind::boolean);
                    v->b_ = s == "01";
                    push(v);
                    break;
                }
                errno = 0;
                char* end = nullptr;
                const long long x = std::strtoll(s.c_str(), &end, 10);
                if (s.empty() || *end != '\0' || errno == ERANGE) fail(fmt::format("bad integer text '{}'", s));
                push(make_int(x));
                break;
            }
            case 'G': {  // BINFLOAT, big-endian
                const uint8_t* b = take(8);
                uint64_t bits = 0;
                for (int i = 0; i < 8; ++i) bits = (bits << 8) | b[i];
                Value* v = make(Kind::floating);
                std::memcpy(&v->f_, &bits, 8);
                push(v);
                break;
            }
            case 'F': {
                const std::string s = line();
                char* end = nullptr;
                const double d = std::strtod(s.c_str(), &end);
                if (s.empty() || *end != '\0') fail(fmt::format("bad float text '{}'", s));
                Value* v = make(Kind::floating);
                v->f_ = d;
                push(v);
                break;
            }
            case 'X': push(make_str(bytes(le(4)))); break;
            case 0x8c: push(make_str(bytes(le(1)))); break;
            case 0x8d: push(make_str(bytes(le(8)))); break;
            case 'T': push(make_str(bytes(le(4)))); break;  // BINSTRING (py2 str)
            case 'U': push(make_str(bytes(le(1)))); break;  // SHORT_BINSTRING
            case 'B': push(make_str(bytes(le(4)), Kind::bytes)); break;
            case 'C': push(make_str(bytes(le(1)), Kind::bytes)); break;
            case 0x8e: push(make_str(bytes(le(8)), Kind::bytes)); break;
            case 0x96: push(make_str(bytes(le(8)), Kind::bytes)); break;  // BYTEARRAY8
            case '}': push(make(Kind::dict)); break;
            case ']': push(make(Kind::list)); break;
            case ')': push(make(Kind::tuple)); break;
            case 0x8f: push(make(Kind::set)); break;
            case 'd': {
                auto kv = pop_mark();
                Value* d = make(Kind::dict);
                setitems(d, kv);
                push(d);
                break;
            }
            case 'l': {
                auto items = pop_mark();
                Value* l = make(Kind::list);
                l->items_.assign(items.begin(), items.end());
                push(l);
                break;
            }
            case 't': push(tuple_of(pop_mark())); break;
            case 0x85: { Value* a = pop(); push(tuple_of({a})); break; }
            case 0x86: { Value* b = pop(); Value* a = pop(); push(tuple_of({a, b})); break; }
            case 0x87: { Value* c = pop(); Value* b = pop(); Value* a = pop(); push(tuple_of({a, b, c})); break; }
            case 0x91: {
                auto items = pop_mark();
                Value* s = make(Kind::set);
                s->items_.assign(items.begin(), items.end());
                push(s);
                break;
            }
            case 'a': { Value* v = pop(); appends(top(), {v}); break; }
            case 'e': { auto items = pop_mark(); appends(top(), items); break; }
            case 0x90: { auto items = pop_mark(); appends(top(), items); break; }  // ADDITEMS
            case 's': { Value* v = pop(); Value* k = pop(); setitems(top(), {k, v}); break; }
            case 'u': { auto kv = pop_mark(); setitems(top(), kv); break; }
            case 'q': memo_put(le(1)); break;
            case 'r': memo_put(le(4)); break;
            case 'p': {
                const std::string s = line();
                char* end = nullptr;
                const unsigned long long idx = std::strtoull(s.c_str(), &end, 10);
                if (s.empty() || *end != '\0') fail("bad PUT index");
                memo_put(idx);
                break;
            }
            case 0x94: memo_put(memo_.size()); break;  // MEMOIZE
            case 'h': push(memo_get(le(1))); break;
            case 'j': push(memo_get(le(4))); break;
            case 'g': {
                const std::string s = line();
                char* end = nullptr;
                const unsigned long long idx = std::strtoull(s.c_str(), &end, 10);
                if (s.empty() || *end != '\0') fail("bad GET index");
                push(memo_get(idx));
                break;
            }
            case 'c': {
                std::string module = line();
                std::string name = line();
                push(global(module, name));
                break;
            }
            case 0x93: {  // STACK_GLOBAL
                Value* name = pop();
                Value* module = pop();
                if (module->kind_ != Kind::string || name->kind_ != Kind::string) fail("STACK_GLOBAL of non-strings");
                push(global(module->s_, name->s_));
                break;
            }
            case 'R': {
                Value* args = pop();
                Value* fn = pop();
                push(call(fn, args));
                break;
            }
            case 0x81: case 0x92: {  // NEWOBJ / NEWOBJ_EX: an inert object of any class
                Value* kwargs = op == 0x92 ? pop() : nullptr;
                (void)kwargs;
                Value* args = pop();
                Value* cls = pop();
                if (cls->kind_ != Kind::global) fail(fmt::format("NEWOBJ of a {}", cls->kind_name()));
                if (args->kind_ != Kind::tuple) fail("NEWOBJ arguments are not a tuple");
                if (cls->s_ == "collections.OrderedDict" || cls->s_ == "builtins.dict") {
                    push(make(Kind::dict));
                    break;
                }
                Value* o = make(Kind::object);
                o->s_ = cls->s_;
                o->args_ = args;
                push(o);
                break;
            }
            case 'b': {  // BUILD
                Value* state = pop();
                Value* target = top();
                if (target->kind_ == Kind::object) {
                    target->state_ = state;
                } else if (target->kind_ == Kind::dict && state->kind_ == Kind::dict) {
                    // A dict built from itself (DUP) doubles at every BUILD: bound the entries copied by
                    // the input size, or a few hundred bytes take exponential time and memory.
                    build_copies_ += state->entries_.size();
                    if (build_copies_ > size_ + 1024) fail("BUILD copies more dict entries than the pickle could hold");
                    target->entries_.insert(target->entries_.end(), state->entries_.begin(), state->entries_.end());
                } else if (target->kind_ != Kind::tensor) {
                    fail(fmt::format("BUILD on a {}", target->kind_name()));
                }
                break;
            }
            case 'Q': { Value* pid = pop(); push(persistent(pid)); break; }
            default:
                fail(fmt::format("unsupported opcode 0x{:02x}", op));
        }
    }

    const uint8_t* p_;
    size_t size_;
    size_t pos_ = 0, op_pos_ = 0;
    const std::string& what_;
    const StorageLoader& loader_;
    Pickle out_;
    std::vector<Value*> stack_;
    std::vector<size_t> marks_;
    std::unordered_map<uint64_t, Value*> memo_;
    int call_depth_ = 0;
    size_t build_copies_ = 0;  // dict entries copied by BUILD so far
};

Pickle unpickle(const uint8_t* data, size_t size, const std::string& what, const StorageLoader& loader) {
    return Unpickler(data, size, what, loader).run();
}

// ---------------------------------------------------------------------------------------------
// JSON view

namespace {
// A pickle is a graph: values shared through the memo (or DUP) are written out once per reference,
// so a few hundred bytes can expand exponentially. `budget` bounds the values written.
constexpr size_t kMaxJsonValues = 1 << 18;
nlohmann::json to_json_rec(const Value& v, int depth, size_t& budget) {
    if (depth > 256) throw Error(Errc::invalid_file, "checkpoint value nests deeper than 256 levels (or is cyclic)");
    if (budget-- == 0)
        throw Error(Errc::invalid_file, fmt::format("checkpoint value expands to more than {} JSON values (shared references)",
                                                    kMaxJsonValues));
    using K = Value::Kind;
    switch (v.kind()) {
        case K::none: return nullptr;
        case K::boolean: return v.as_bool();
        case K::integer: return v.as_int();
        case K::floating: return v.as_double();
        case K::string: return v.as_string();
        case K::bytes: return nlohmann::json::binary_t(std::vector<uint8_t>(v.as_string().begin(), v.as_string().end()));
        case K::list: case K::tuple: case K::set: {
            auto a = nlohmann::json::array();
            for (const Value* x : v.items()) a.push_back(to_json_rec(*x, depth + 1, budget));
            return a;
        }
        case K::dict: {
            auto o = nlohmann::json::object();
            for (const auto& [k, x] : v.entries()) {
                std::string key;
                if (k->kind() == K::string) key = k->as_string();
                else if (k->kind() == K::integer) key = std::to_string(k->as_int());
                else throw Error(Errc::invalid_file, fmt::format("checkpoint dict key of type {} has no JSON form", k->kind_name()));
                o[key] = to_json_rec(*x, depth + 1, budget);
            }
            return o;
        }
        case K::tensor: {
            const auto& t = v.as_tensor();
            return {{"tensor", t.sizes().vec()}, {"dtype", std::string(c10::toString(t.scalar_type()))}};
        }
        case K::global: return {{"global", v.class_name()}};
        case K::object: {
            const Value* st = v.state();
            if (st && st->kind() == K::tuple && !st->items().empty()) st = st->items()[0];
            nlohmann::json o = st && st->is_dict() ? to_json_rec(*st, depth + 1, budget) : nlohmann::json::object();
            for (const auto& [k, x] : v.entries())
                if (k->kind() == K::string) o[k->as_string()] = to_json_rec(*x, depth + 1, budget);
            return o;
        }
    }
    return nullptr;
}
}  // namespace

nlohmann::json to_json(const Value& v) {
    size_t budget = kMaxJsonValues;
    return to_json_rec(v, 0, budget);
}

// ---------------------------------------------------------------------------------------------
// Checkpoint

struct Checkpoint::Buffer {
    const uint8_t* data = nullptr;
    size_t size = 0;
    void* map = nullptr;
    std::vector<uint8_t> owned;
    ~Buffer() {
        if (map) ::munmap(map, size);
    }
};

Checkpoint Checkpoint::open(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        throw Error(errno == ENOENT ? Errc::not_found : Errc::invalid_file,
                    fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        throw Error(Errc::invalid_file, fmt::format("{}: not a regular file", path));
    }
    auto buf = std::make_shared<Buffer>();
    buf->size = size_t(st.st_size);
    if (buf->size == 0) {
        ::close(fd);
        throw Error(Errc::invalid_file, fmt::format("{}: empty file", path));
    }
    // Private writable mapping: tensors may be modified in place without touching the file.
    void* m = ::mmap(nullptr, buf->size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    ::close(fd);
    if (m == MAP_FAILED) throw Error(Errc::invalid_file, fmt::format("{}: mmap failed: {}", path, std::strerror(errno)));
    buf->map = m;
    buf->data = static_cast<const uint8_t*>(m);
    Checkpoint c;
    c.path_ = path;
    c.load(std::move(buf));
    return c;
}

Checkpoint Checkpoint::from_bytes(const uint8_t* data, size_t size, const std::string& name) {
    auto buf = std::make_shared<Buffer>();
    buf->owned.assign(data, data + size);
    buf->data = buf->owned.data();
    buf->size = size;
    Checkpoint c;
    c.path_ = name;
    c.load(std::move(buf));
    return c;
}

void Checkpoint::load(std::shared_ptr<Buffer> buf) {
    buffer_ = buf;
    if (buf->size >= 2 && buf->data[0] == 0x80 && buf->data[1] <= 0x05)
        throw Error(Errc::unsupported, fmt::format("{}: legacy (pre-1.6, non-zip) torch.save format is not supported; "
                                                   "re-save it with a current PyTorch", path_));
    const auto archive = zip::Archive::parse(buf->data, buf->size, path_);
    version_tag_ = archive.version_tag();
    const zip::Entry* pkl = nullptr;
    for (const auto& e : archive.entries()) {
        const std::string suffix = "data.pkl";
        if (e.name == suffix || (e.name.size() > suffix.size() &&
                                 e.name.compare(e.name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
                                 e.name[e.name.size() - suffix.size() - 1] == '/' &&
                                 e.name.find('/') == e.name.size() - suffix.size() - 1)) {
            pkl = &e;
            break;
        }
    }
    if (!pkl) throw Error(Errc::invalid_file, fmt::format("{}: no <prefix>/data.pkl record: not a torch.save archive", path_));
    prefix_ = pkl->name.size() > 8 ? pkl->name.substr(0, pkl->name.size() - 9) : "";
    const std::string dir = prefix_.empty() ? "" : prefix_ + "/";
    if (const zip::Entry* bo = archive.find(dir + "byteorder")) {
        const std::string order(reinterpret_cast<const char*>(archive.data(*bo)), size_t(bo->size));
        if (order != "little")
            throw Error(Errc::unsupported, fmt::format("{}: byte order '{}' is not supported", path_, order));
    }

    std::unordered_map<std::string, at::Tensor> storages;
    const std::string what = fmt::format("{}: {}", path_, pkl->name);
    StorageLoader loader = [&](const std::string& key, at::ScalarType dtype, int64_t numel) -> at::Tensor {
        if (auto it = storages.find(key); it != storages.end()) {
            if (it->second.scalar_type() != dtype || it->second.numel() != numel)
                throw Error(Errc::invalid_file, fmt::format("{}: storage '{}' used with two different types", path_, key));
            return it->second;
        }
        const zip::Entry* e = archive.find(dir + "data/" + key);
        if (!e) throw Error(Errc::invalid_file, fmt::format("{}: storage '{}' is missing from the archive", path_, key));
        const size_t elem = c10::elementSize(dtype);
        if (uint64_t(numel) > e->size / elem)
            throw Error(Errc::invalid_file, fmt::format("{}: storage '{}' claims {} elements of {} bytes but holds {} bytes",
                                                        path_, key, numel, elem, e->size));
        const uint8_t* ptr = archive.data(*e);
        at::Tensor t;
        if (reinterpret_cast<uintptr_t>(ptr) % elem == 0) {
            auto keep = buffer_;
            t = at::from_blob(const_cast<uint8_t*>(ptr), {numel}, [keep](void*) {}, at::TensorOptions().dtype(dtype));
        } else {
            t = at::empty({numel}, at::TensorOptions().dtype(dtype));
            if (numel) std::memcpy(t.data_ptr(), ptr, size_t(numel) * elem);
        }
        storages.emplace(key, t);
        return t;
    };
    pickle_ = std::make_shared<Pickle>(unpickle(archive.data(*pkl), size_t(pkl->size), what, loader));
}

std::map<std::string, at::Tensor> Checkpoint::state_dict(const std::string& key, const std::string& strip_prefix) const {
    const Value* d = key.empty() ? &root() : root().find(key);
    if (!d) throw Error(Errc::invalid_file, fmt::format("{}: no '{}' entry in the checkpoint", path_, key));
    if (!d->is_dict())
        throw Error(Errc::invalid_file, fmt::format("{}: '{}' is a {}, not a state dict", path_, key, d->kind_name()));
    std::map<std::string, at::Tensor> out;
    for (const auto& [k, v] : d->entries()) {
        if (!k->is_string())
            throw Error(Errc::invalid_file, fmt::format("{}: state dict '{}' has a {} key", path_, key, k->kind_name()));
        // Module.state_dict() is an OrderedDict carrying a `_metadata` attribute (per-module versions), which
        // torch.save pickles as the dict's BUILD state: not a tensor, skipped.
        if (k->as_string() == "_metadata" && !v->is_tensor()) continue;
        if (!v->is_tensor())
            throw Error(Errc::invalid_file, fmt::format("{}: '{}' in '{}' is a {}, not a tensor", path_, k->as_string(), key, v->kind_name()));
        std::string name = k->as_string();
        if (!strip_prefix.empty() && name.rfind(strip_prefix, 0) == 0) name = name.substr(strip_prefix.size());
        out.insert_or_assign(std::move(name), v->as_tensor());
    }
    return out;
}

}  // namespace troupe::pt
