#include <troupe/json_file.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace troupe::st {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what) {
    throw Error(Errc::invalid_file, fmt::format("{}: {}", path, what));
}

size_t dtype_size(const std::string& dtype) {
    if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
    if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
    if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
    if (dtype == "U8" || dtype == "I8" || dtype == "BOOL") return 1;
    return 0;
}

at::ScalarType scalar_type(const std::string& dtype) {
    if (dtype == "F64") return at::kDouble;
    if (dtype == "F32") return at::kFloat;
    if (dtype == "F16") return at::kHalf;
    if (dtype == "BF16") return at::kBFloat16;
    if (dtype == "I64") return at::kLong;
    if (dtype == "I32") return at::kInt;
    if (dtype == "I16") return at::kShort;
    if (dtype == "I8") return at::kChar;
    if (dtype == "U8") return at::kByte;
    if (dtype == "BOOL") return at::kBool;
    throw Error(Errc::unsupported, "safetensors dtype " + dtype + " has no LibTorch equivalent");
}

std::string dtype_name(at::ScalarType type) {
    switch (type) {
        case at::kDouble: return "F64";
        case at::kFloat: return "F32";
        case at::kHalf: return "F16";
        case at::kBFloat16: return "BF16";
        case at::kLong: return "I64";
        case at::kInt: return "I32";
        case at::kShort: return "I16";
        case at::kChar: return "I8";
        case at::kByte: return "U8";
        case at::kBool: return "BOOL";
        default: throw Error(Errc::unsupported, std::string("cannot save tensors of type ") + at::toString(type));
    }
}

}  // namespace

std::map<std::string, TensorInfo> parse_header(const uint8_t* data, size_t size, const std::string& path,
                                               std::map<std::string, std::string>* metadata,
                                               size_t* data_offset) {
    if (size < 8) fail(path, fmt::format("truncated: {} bytes, a safetensors file has at least 8", size));
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | data[i];
    if (header_len > size - 8)
        fail(path, fmt::format("header length {} exceeds the file size {} (truncated file?)", header_len, size));
    if (header_len > (100u << 20)) fail(path, fmt::format("header length {} is over 100 MiB", header_len));
    const size_t base = 8 + header_len;
    const uint64_t data_size = size - base;

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(data + 8, data + 8 + header_len);
    } catch (const std::exception& e) {
        fail(path, std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object()) fail(path, "header is not a JSON object");

    std::map<std::string, TensorInfo> infos;
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    for (auto& [name, entry] : header.items()) {
        if (name == "__metadata__") {
            if (!entry.is_object()) fail(path, "__metadata__ is not an object");
            if (metadata)
                for (auto& [k, v] : entry.items())
                    if (v.is_string()) (*metadata)[k] = v.get<std::string>();
            continue;
        }
        const std::string& tensor_name = name;  // (clang: structured bindings cannot be captured in C++17)
        auto where = [&](const std::string& what) { fail(path, fmt::format("tensor '{}': {}", tensor_name, what)); };
        if (!entry.is_object()) where("entry is not an object");
        TensorInfo info;
        if (!entry.contains("dtype") || !entry["dtype"].is_string()) where("missing dtype");
        info.dtype = entry["dtype"].get<std::string>();
        const size_t item = dtype_size(info.dtype);
        if (item == 0) where("unknown dtype " + info.dtype);
        if (!entry.contains("shape") || !entry["shape"].is_array()) where("missing shape");
        uint64_t count = 1;
        for (auto& d : entry["shape"]) {
            if (!d.is_number_unsigned()) where("shape has a negative or non-integer dimension");
            uint64_t dim = d.get<uint64_t>();
            if (dim > (uint64_t(1) << 40) || (dim && count > (uint64_t(1) << 62) / dim)) where("shape is too large");
            count *= dim;
            info.shape.push_back(int64_t(dim));
        }
        auto& offsets = entry["data_offsets"];
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned())
            where("data_offsets must be two non-negative integers");
        info.begin = offsets[0].get<uint64_t>();
        info.end = offsets[1].get<uint64_t>();
        if (info.begin > info.end) where("data_offsets are reversed");
        if (info.end > data_size)
            where(fmt::format("data [{}, {}) lies beyond the end of the file's data ({} bytes; truncated file?)",
                              info.begin, info.end, data_size));
        if (info.end - info.begin != count * item)
            where(fmt::format("{} bytes of data for shape with {} elements of {}", info.end - info.begin, count,
                              info.dtype));
        ranges.emplace_back(info.begin, info.end);
        infos.emplace(name, std::move(info));
    }
    std::sort(ranges.begin(), ranges.end());
    for (size_t i = 1; i < ranges.size(); ++i)
        if (ranges[i].first < ranges[i - 1].second && ranges[i].first != ranges[i].second)
            fail(path, "tensor data ranges overlap");
    if (data_offset) *data_offset = base;
    return infos;
}

struct File::Mapping {
    void* address = nullptr;
    size_t size = 0;
    ~Mapping() {
        if (address && size) munmap(address, size);
    }
};

File File::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(Errc::not_found, fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    struct stat info {};
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        ::close(fd);
        fail(path, "not a regular file");
    }
    File file;
    file.path_ = path;
    file.mapping_ = std::make_shared<Mapping>();
    file.mapping_->size = size_t(info.st_size);
    if (info.st_size > 0) {
        void* address = mmap(nullptr, size_t(info.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
        if (address == MAP_FAILED) {
            ::close(fd);
            fail(path, std::string("mmap failed: ") + std::strerror(errno));
        }
        file.mapping_->address = address;
    }
    ::close(fd);
    file.infos_ = parse_header(static_cast<const uint8_t*>(file.mapping_->address), file.mapping_->size, path,
                               &file.metadata_, &file.data_offset_);
    return file;
}

std::vector<std::string> File::names() const {
    std::vector<std::string> out;
    for (auto& [name, info] : infos_) out.push_back(name);
    return out;
}

const TensorInfo& File::info(const std::string& name) const {
    auto it = infos_.find(name);
    if (it == infos_.end()) throw Error(Errc::not_found, fmt::format("{}: no tensor '{}'", path_, name));
    return it->second;
}

at::Tensor File::tensor(const std::string& name) const {
    const TensorInfo& i = info(name);
    auto* bytes = static_cast<uint8_t*>(mapping_->address) + data_offset_ + i.begin;
    std::shared_ptr<Mapping> keep = mapping_;
    auto options = at::TensorOptions().dtype(scalar_type(i.dtype)).device(at::kCPU);
    if (i.end == i.begin) return at::empty(i.shape, options);
    const size_t item = dtype_size(i.dtype);
    if (reinterpret_cast<uintptr_t>(bytes) % item != 0)  // misaligned data: copy
        return at::from_blob(bytes, i.shape, options).clone();
    return at::from_blob(bytes, i.shape, [keep](void*) {}, options);
}

Checkpoint Checkpoint::open_file(const std::string& path) {
    Checkpoint cp;
    cp.files_.push_back(File::open(path));
    for (auto& name : cp.files_[0].names()) cp.where_[name] = 0;
    cp.description_ = path;
    return cp;
}

Checkpoint Checkpoint::open_dir(const std::string& dir, const std::string& stem) {
    const std::string single = dir + "/" + stem + ".safetensors";
    const std::string index = dir + "/" + stem + ".safetensors.index.json";
    if (std::ifstream(single).good()) return open_file(single);
    if (!std::ifstream(index)) throw Error(Errc::not_found, fmt::format("{}: neither {}.safetensors nor {}.safetensors.index.json found",
                                                                   dir, stem, stem));
    const nlohmann::json j = read_json_file(index);
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) fail(index, "missing the weight_map object");
    Checkpoint cp;
    cp.description_ = index;
    std::map<std::string, size_t> file_index;
    for (auto& [name, shard] : j["weight_map"].items()) {
        if (!shard.is_string()) fail(index, "weight_map['" + name + "'] is not a file name");
        std::string file = shard.get<std::string>();
        if (file.find('/') != std::string::npos || file.find("..") != std::string::npos)
            fail(index, "weight_map['" + name + "'] names a file outside the folder: " + file);
        auto it = file_index.find(file);
        if (it == file_index.end()) {
            cp.files_.push_back(File::open(dir + "/" + file));
            it = file_index.emplace(file, cp.files_.size() - 1).first;
        }
        if (!cp.files_[it->second].contains(name))
            fail(dir + "/" + file, "tensor '" + name + "' listed in the index is missing from this shard");
        cp.where_[name] = it->second;
    }
    return cp;
}

std::vector<std::string> Checkpoint::names() const {
    std::vector<std::string> out;
    for (auto& [name, i] : where_) out.push_back(name);
    return out;
}

const std::string& Checkpoint::file_of(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) throw Error(Errc::not_found, fmt::format("{}: no tensor '{}'", description_, name));
    return files_[it->second].path();
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) throw Error(Errc::not_found, fmt::format("{}: no tensor '{}'", description_, name));
    return files_[it->second].info(name);
}

at::Tensor Checkpoint::tensor(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) throw Error(Errc::not_found, fmt::format("{}: no tensor '{}'", description_, name));
    return files_[it->second].tensor(name);
}

void save(const std::string& path, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
          const std::map<std::string, std::string>& metadata) {
    std::vector<std::pair<std::string, at::Tensor>> sorted;
    for (auto& [name, t] : tensors) sorted.emplace_back(name, t.detach().to(at::kCPU).contiguous());
    std::sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) { return a.first < b.first; });
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    for (auto& [name, t] : sorted) {
        uint64_t bytes = uint64_t(t.numel()) * t.element_size();
        header[name] = {{"dtype", dtype_name(t.scalar_type())},
                        {"shape", std::vector<int64_t>(t.sizes().begin(), t.sizes().end())},
                        {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
    }
    std::string text = header.dump();
    while ((text.size() + 8) % 8) text.push_back(' ');
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(Errc::runtime, fmt::format("{}: cannot write: {}", tmp, std::strerror(errno)));
        uint64_t n = text.size();
        char len[8];
        for (int i = 0; i < 8; ++i) len[i] = char((n >> (8 * i)) & 0xff);
        out.write(len, 8);
        out.write(text.data(), std::streamsize(text.size()));
        for (auto& [name, t] : sorted)
            out.write(static_cast<const char*>(t.data_ptr()), std::streamsize(t.numel() * t.element_size()));
        if (!out) throw Error(Errc::runtime, fmt::format("{}: write failed", tmp));
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw Error(Errc::runtime, fmt::format("{}: cannot rename to {}: {}", tmp, path, std::strerror(errno)));
}

}  // namespace troupe::st
