#include "troupe/torch/torch_save.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include <unistd.h>

namespace troupe::pt {

// ---------------------------------------------------------------------------------------------
// SaveValue

SaveValue SaveValue::boolean(bool v) {
    SaveValue s;
    s.kind_ = Kind::boolean;
    s.b_ = v;
    return s;
}
SaveValue SaveValue::integer(int64_t v) {
    SaveValue s;
    s.kind_ = Kind::integer;
    s.i_ = v;
    return s;
}
SaveValue SaveValue::floating(double v) {
    SaveValue s;
    s.kind_ = Kind::floating;
    s.f_ = v;
    return s;
}
SaveValue SaveValue::string(std::string v) {
    SaveValue s;
    s.kind_ = Kind::string;
    s.s_ = std::move(v);
    return s;
}
SaveValue SaveValue::list(std::vector<SaveValue> items) {
    SaveValue s;
    s.kind_ = Kind::list;
    s.items_ = std::move(items);
    return s;
}
SaveValue SaveValue::tuple(std::vector<SaveValue> items) {
    SaveValue s;
    s.kind_ = Kind::tuple;
    s.items_ = std::move(items);
    return s;
}
SaveValue SaveValue::dict(std::vector<std::pair<std::string, SaveValue>> entries) {
    SaveValue s;
    s.kind_ = Kind::dict;
    s.entries_ = std::move(entries);
    return s;
}
SaveValue SaveValue::ordered_dict(std::vector<std::pair<std::string, SaveValue>> entries) {
    SaveValue s = dict(std::move(entries));
    s.kind_ = Kind::ordered_dict;
    return s;
}
SaveValue SaveValue::tensor(at::Tensor t) {
    if (!t.defined()) throw Error(Errc::invalid_argument, "torch.save: undefined tensor");
    SaveValue s;
    s.kind_ = Kind::tensor;
    s.tensor_ = std::move(t);
    return s;
}

SaveValue& SaveValue::set(std::string key, SaveValue value) {
    if (kind_ != Kind::dict && kind_ != Kind::ordered_dict)
        throw Error(Errc::invalid_argument, "torch.save: set() on a value that is not a dict");
    entries_.emplace_back(std::move(key), std::move(value));
    return *this;
}

SaveValue SaveValue::from_json(const nlohmann::json& j) {
    switch (j.type()) {
        case nlohmann::json::value_t::null: return SaveValue();
        case nlohmann::json::value_t::boolean: return boolean(j.get<bool>());
        case nlohmann::json::value_t::number_integer: return integer(j.get<int64_t>());
        case nlohmann::json::value_t::number_unsigned: {
            const uint64_t u = j.get<uint64_t>();
            if (u > uint64_t(std::numeric_limits<int64_t>::max()))
                throw Error(Errc::invalid_argument, "torch.save: integer too large");
            return integer(int64_t(u));
        }
        case nlohmann::json::value_t::number_float: return floating(j.get<double>());
        case nlohmann::json::value_t::string: return string(j.get<std::string>());
        case nlohmann::json::value_t::array: {
            std::vector<SaveValue> items;
            for (const auto& e : j) items.push_back(from_json(e));
            return list(std::move(items));
        }
        case nlohmann::json::value_t::object: {
            SaveValue d = dict();
            for (auto it = j.begin(); it != j.end(); ++it) d.set(it.key(), from_json(it.value()));
            return d;
        }
        default: throw Error(Errc::invalid_argument, "torch.save: JSON value of an unsupported type");
    }
}

// ---------------------------------------------------------------------------------------------
// Pickle (protocol 2)

namespace {

const char* storage_class(at::ScalarType t) {
    switch (t) {
        case at::kHalf: return "HalfStorage";
        case at::kFloat: return "FloatStorage";
        case at::kDouble: return "DoubleStorage";
        case at::kBFloat16: return "BFloat16Storage";
        case at::kLong: return "LongStorage";
        case at::kInt: return "IntStorage";
        case at::kShort: return "ShortStorage";
        case at::kChar: return "CharStorage";
        case at::kByte: return "ByteStorage";
        case at::kBool: return "BoolStorage";
        default: throw Error(Errc::unsupported, fmt::format("torch.save: tensors of type {} are not supported", c10::toString(t)));
    }
}

}  // namespace

class PickleWriter {
public:
    std::string out = std::string("\x80\x02", 2);
    std::vector<at::Tensor> storages;  // contiguous CPU tensors, key = index

    void value(const SaveValue& v) {
        switch (v.kind_) {
            case SaveValue::Kind::none: op('N'); break;
            case SaveValue::Kind::boolean: op(v.b_ ? '\x88' : '\x89'); break;
            case SaveValue::Kind::integer: integer(v.i_); break;
            case SaveValue::Kind::floating: floating(v.f_); break;
            case SaveValue::Kind::string: str(v.s_); break;
            case SaveValue::Kind::list:
                op(']');
                if (!v.items_.empty()) {
                    op('(');
                    for (const auto& e : v.items_) value(e);
                    op('e');  // APPENDS
                }
                break;
            case SaveValue::Kind::tuple:
                op('(');
                for (const auto& e : v.items_) value(e);
                op('t');
                break;
            case SaveValue::Kind::dict:
            case SaveValue::Kind::ordered_dict:
                if (v.kind_ == SaveValue::Kind::ordered_dict) {
                    global("collections", "OrderedDict");
                    op(')');
                    op('R');
                } else {
                    op('}');
                }
                if (!v.entries_.empty()) {
                    op('(');
                    for (const auto& [k, e] : v.entries_) {
                        str(k);
                        value(e);
                    }
                    op('u');  // SETITEMS
                }
                break;
            case SaveValue::Kind::tensor: tensor(v.tensor_); break;
        }
    }

private:
    void op(char c) { out.push_back(c); }
    void u32(uint32_t v) {
        for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xFF));
    }
    void str(const std::string& s) {
        if (s.size() > std::numeric_limits<uint32_t>::max()) throw Error(Errc::invalid_argument, "torch.save: string too long");
        op('X');
        u32(uint32_t(s.size()));
        out += s;
    }
    void global(const char* module, const char* name) {
        op('c');
        out += module;
        out.push_back('\n');
        out += name;
        out.push_back('\n');
    }
    void integer(int64_t v) {
        if (v >= 0 && v < 256) {
            op('K');
            out.push_back(char(v));
        } else if (v >= 0 && v < 65536) {
            op('M');
            out.push_back(char(v & 0xFF));
            out.push_back(char((v >> 8) & 0xFF));
        } else if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max()) {
            op('J');
            u32(uint32_t(int32_t(v)));
        } else {
            op('\x8a');  // LONG1: 8 bytes little-endian two's complement
            out.push_back(char(8));
            for (int i = 0; i < 8; ++i) out.push_back(char((uint64_t(v) >> (8 * i)) & 0xFF));
        }
    }
    void floating(double d) {
        op('G');  // BINFLOAT, big-endian
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        for (int i = 7; i >= 0; --i) out.push_back(char((bits >> (8 * i)) & 0xFF));
    }
    void tensor(const at::Tensor& t) {
        const char* cls = storage_class(t.scalar_type());
        const at::Tensor c = t.detach().to(at::kCPU).contiguous();
        const size_t key = storages.size();
        storages.push_back(c);
        global("torch._utils", "_rebuild_tensor_v2");
        op('(');
        // persistent id ('storage', torch.<T>Storage, key, 'cpu', numel)
        op('(');
        str("storage");
        global("torch", cls);
        str(std::to_string(key));
        str("cpu");
        integer(c.numel());
        op('t');
        op('Q');  // BINPERSID
        integer(0);  // storage offset
        op('(');
        for (int64_t s : c.sizes()) integer(s);
        op('t');
        op('(');
        for (int64_t s : c.strides()) integer(s);
        op('t');
        op('\x89');  // requires_grad False
        global("collections", "OrderedDict");
        op(')');
        op('R');  // backward hooks
        op('t');
        op('R');
    }
};

// ---------------------------------------------------------------------------------------------
// Zip (stored)

namespace {

uint32_t crc32_update(uint32_t crc, const uint8_t* p, size_t n) {
    static const std::array<uint32_t, 256> table = [] {
        std::array<uint32_t, 256> t{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    crc = ~crc;
    for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

struct ZipSink {
    virtual ~ZipSink() = default;
    virtual void write(const char* data, size_t n) = 0;
};

struct StringSink : ZipSink {
    std::string s;
    void write(const char* data, size_t n) override { s.append(data, n); }
};

struct FileSink : ZipSink {
    std::ofstream f;
    std::string path;
    void write(const char* data, size_t n) override {
        f.write(data, std::streamsize(n));
        if (!f) throw Error(Errc::runtime, fmt::format("{}: write failed: {}", path, std::strerror(errno)));
    }
};

class ZipWriter {
public:
    explicit ZipWriter(ZipSink& sink) : sink_(sink) {}

    void add(const std::string& name, const uint8_t* data, size_t n) {
        if (n > 0xFFFFFFFFull || offset_ > 0xFFFFFFFFull)
            throw Error(Errc::unsupported, "torch.save: archives over 4 GiB (zip64) are not supported");
        const uint32_t crc = crc32_update(0, data, n);
        const uint64_t header_end = offset_ + 30 + name.size() + 4;  // + the FB extra field header
        const size_t pad = size_t((64 - header_end % 64) % 64);
        std::string h;
        u32(h, 0x04034b50);
        u16(h, 20);  // version needed
        u16(h, 0);   // flags
        u16(h, 0);   // stored
        u16(h, 0);
        u16(h, 0);  // time, date
        u32(h, crc);
        u32(h, uint32_t(n));
        u32(h, uint32_t(n));
        u16(h, uint16_t(name.size()));
        u16(h, uint16_t(4 + pad));
        h += name;
        u16(h, 0x4246);  // "FB": torch's alignment padding field
        u16(h, uint16_t(pad));
        h.append(pad, 'Z');
        Entry e{name, crc, uint32_t(n), uint32_t(offset_)};
        sink_.write(h.data(), h.size());
        sink_.write(reinterpret_cast<const char*>(data), n);
        offset_ += h.size() + n;
        entries_.push_back(e);
    }
    void add(const std::string& name, const std::string& data) {
        add(name, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    }

    void finish() {
        std::string cd;
        for (const auto& e : entries_) {
            u32(cd, 0x02014b50);
            u16(cd, 20);  // made by
            u16(cd, 20);  // needed
            u16(cd, 0);
            u16(cd, 0);
            u16(cd, 0);
            u16(cd, 0);
            u32(cd, e.crc);
            u32(cd, e.size);
            u32(cd, e.size);
            u16(cd, uint16_t(e.name.size()));
            u16(cd, 0);  // extra
            u16(cd, 0);  // comment
            u16(cd, 0);  // disk
            u16(cd, 0);  // internal attributes
            u32(cd, 0);  // external attributes
            u32(cd, e.offset);
            cd += e.name;
        }
        if (offset_ + cd.size() > 0xFFFFFFFFull || entries_.size() > 0xFFFF)
            throw Error(Errc::unsupported, "torch.save: archives over 4 GiB or 65535 entries (zip64) are not supported");
        std::string end;
        u32(end, 0x06054b50);
        u16(end, 0);
        u16(end, 0);
        u16(end, uint16_t(entries_.size()));
        u16(end, uint16_t(entries_.size()));
        u32(end, uint32_t(cd.size()));
        u32(end, uint32_t(offset_));
        u16(end, 0);
        sink_.write(cd.data(), cd.size());
        sink_.write(end.data(), end.size());
    }

private:
    struct Entry {
        std::string name;
        uint32_t crc, size, offset;
    };
    static void u16(std::string& s, uint16_t v) {
        s.push_back(char(v & 0xFF));
        s.push_back(char(v >> 8));
    }
    static void u32(std::string& s, uint32_t v) {
        for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xFF));
    }
    ZipSink& sink_;
    uint64_t offset_ = 0;
    std::vector<Entry> entries_;
};

void write_archive(ZipSink& sink, const SaveValue& root, const std::string& prefix) {
    PickleWriter p;
    p.value(root);
    p.out.push_back('.');  // STOP
    ZipWriter zip(sink);
    zip.add(prefix + "/data.pkl", p.out);
    zip.add(prefix + "/byteorder", std::string("little"));
    for (size_t i = 0; i < p.storages.size(); ++i) {
        const at::Tensor& t = p.storages[i];
        zip.add(prefix + "/data/" + std::to_string(i), static_cast<const uint8_t*>(t.data_ptr()), t.nbytes());
    }
    zip.add(prefix + "/version", std::string("3\n"));
    zip.finish();
}

}  // namespace

std::string save_to_bytes(const SaveValue& root, const std::string& record_prefix) {
    StringSink s;
    write_archive(s, root, record_prefix);
    return std::move(s.s);
}

void save(const std::string& path, const SaveValue& root) {
    namespace fs = std::filesystem;
    std::string prefix = fs::path(path).stem().string();
    if (prefix.empty()) prefix = "archive";
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    try {
        FileSink sink;
        sink.path = tmp;
        sink.f.open(tmp, std::ios::binary | std::ios::trunc);
        if (!sink.f) throw Error(Errc::runtime, fmt::format("{}: cannot create: {}", tmp, std::strerror(errno)));
        write_archive(sink, root, prefix);
        sink.f.flush();
        if (!sink.f) throw Error(Errc::runtime, fmt::format("{}: write failed", tmp));
        sink.f.close();
    } catch (...) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw;
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        throw Error(Errc::runtime, fmt::format("{}: cannot move the written file into place: {}", path, ec.message()));
    }
}

}  // namespace troupe::pt
