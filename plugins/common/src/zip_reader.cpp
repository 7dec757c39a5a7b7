#include "troupe/torch/zip_reader.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

namespace troupe::zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEocdSig = 0x06054b50;
constexpr uint32_t kZip64EocdSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;

struct Cursor {
    const uint8_t* base;
    size_t size;
    const std::string& path;

    [[noreturn]] void fail(const std::string& what) const {
        throw Error(Errc::invalid_file, fmt::format("{}: not a readable zip archive: {}", path, what));
    }
    void need(uint64_t off, uint64_t len, const char* what) const {
        if (off > size || len > size - off) fail(fmt::format("{} at offset {} runs past the end of the file", what, off));
    }
    uint16_t u16(uint64_t off) const {
        need(off, 2, "field");
        return uint16_t(base[off] | (base[off + 1] << 8));
    }
    uint32_t u32(uint64_t off) const {
        need(off, 4, "field");
        return uint32_t(base[off]) | (uint32_t(base[off + 1]) << 8) | (uint32_t(base[off + 2]) << 16) |
               (uint32_t(base[off + 3]) << 24);
    }
    uint64_t u64(uint64_t off) const { return uint64_t(u32(off)) | (uint64_t(u32(off + 4)) << 32); }
};

}  // namespace

Archive Archive::parse(const uint8_t* data, size_t size, const std::string& path) {
    Archive a;
    a.base_ = data;
    a.size_ = size;
    a.path_ = path;
    Cursor c{data, size, a.path_};
    if (size < kEocdSize) c.fail(fmt::format("only {} bytes", size));
    if (!(data[0] == 'P' && data[1] == 'K')) {
        // GPT-SoVITS version tag over "PK"; the rest of the local header signature must still be there.
        if (!(data[2] == 0x03 && data[3] == 0x04)) c.fail("no zip signature at offset 0");
        a.version_tag_.assign(reinterpret_cast<const char*>(data), 2);
    }

    // End of central directory: scan back over a possible comment (at most 65535 bytes).
    uint64_t eocd = UINT64_MAX;
    const uint64_t lowest = size - kEocdSize > 0xFFFF ? size - kEocdSize - 0xFFFF : 0;
    for (uint64_t off = size - kEocdSize + 1; off-- > lowest;) {
        if (c.u32(off) == kEocdSig && off + kEocdSize + c.u16(off + 20) == size) {
            eocd = off;
            break;
        }
    }
    if (eocd == UINT64_MAX) c.fail("no end-of-central-directory record (truncated file?)");

    uint64_t n_entries = c.u16(eocd + 10);
    uint64_t cd_size = c.u32(eocd + 12);
    uint64_t cd_offset = c.u32(eocd + 16);
    if (c.u16(eocd + 4) != 0 || c.u16(eocd + 6) != 0) c.fail("multi-disk archives are not supported");
    if (n_entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
        if (eocd < 20 || c.u32(eocd - 20) != kZip64LocatorSig) c.fail("zip64 sizes without a zip64 locator");
        const uint64_t z64 = c.u64(eocd - 20 + 8);
        c.need(z64, 56, "zip64 end-of-central-directory record");
        if (c.u32(z64) != kZip64EocdSig) c.fail("bad zip64 end-of-central-directory signature");
        n_entries = c.u64(z64 + 32);
        cd_size = c.u64(z64 + 40);
        cd_offset = c.u64(z64 + 48);
    }
    c.need(cd_offset, cd_size, "central directory");
    if (n_entries > cd_size / kCentralSize) c.fail(fmt::format("{} entries cannot fit a central directory of {} bytes", n_entries, cd_size));

    a.entries_.reserve(size_t(n_entries));
    uint64_t off = cd_offset;
    const uint64_t cd_end = cd_offset + cd_size;
    for (uint64_t i = 0; i < n_entries; ++i) {
        if (off + kCentralSize > cd_end) c.fail("central directory entry runs past the directory");
        if (c.u32(off) != kCentralSig) c.fail(fmt::format("bad central directory signature at offset {}", off));
        const uint16_t flags = c.u16(off + 8);
        Entry e;
        e.method = c.u16(off + 10);
        uint64_t csize = c.u32(off + 20);
        uint64_t usize = c.u32(off + 24);
        const uint16_t name_len = c.u16(off + 28), extra_len = c.u16(off + 30), comment_len = c.u16(off + 32);
        uint64_t local = c.u32(off + 42);
        const uint64_t next = off + kCentralSize + name_len + extra_len + comment_len;
        if (next > cd_end) c.fail("central directory entry runs past the directory");
        e.name.assign(reinterpret_cast<const char*>(data + off + kCentralSize), name_len);
        // zip64 extended information: the fields that are saturated, in this order.
        uint64_t x = off + kCentralSize + name_len;
        const uint64_t x_end = x + extra_len;
        while (x + 4 <= x_end) {
            const uint16_t id = c.u16(x), len = c.u16(x + 2);
            if (x + 4 + len > x_end) c.fail(fmt::format("entry '{}': extra field runs past its record", e.name));
            if (id == 0x0001) {
                uint64_t p = x + 4;
                auto take = [&](uint64_t& v) {
                    if (v != 0xFFFFFFFF) return;
                    if (p + 8 > x + 4 + len) c.fail(fmt::format("entry '{}': short zip64 extra field", e.name));
                    v = c.u64(p);
                    p += 8;
                };
                take(usize);
                take(csize);
                take(local);
            }
            x += 4 + uint64_t(len);
        }
        if (flags & 0x1) c.fail(fmt::format("entry '{}' is encrypted", e.name));
        if (e.method == 0 && csize != usize)
            c.fail(fmt::format("stored entry '{}' has compressed size {} != size {}", e.name, csize, usize));
        // Local header: its own name/extra lengths decide where the data starts.
        c.need(local, kLocalSize, "local header");
        const uint32_t sig = c.u32(local);
        const bool tagged_first = local == 0 && !a.version_tag_.empty();
        if (sig != kLocalSig && !tagged_first) c.fail(fmt::format("entry '{}': bad local header signature", e.name));
        const uint64_t data_off = local + kLocalSize + c.u16(local + 26) + c.u16(local + 28);
        c.need(data_off, csize, fmt::format("data of entry '{}'", e.name).c_str());
        e.data_offset = data_off;
        e.size = usize;
        a.entries_.push_back(std::move(e));
        off = next;
    }
    return a;
}

const Entry* Archive::find(const std::string& name) const {
    for (const auto& e : entries_)
        if (e.name == name) return &e;
    return nullptr;
}

const uint8_t* Archive::data(const Entry& e) const {
    if (e.method != 0)
        throw Error(Errc::unsupported,
                    fmt::format("{}: entry '{}' is compressed (method {}); only stored entries are supported",
                                path_, e.name, e.method));
    return base_ + e.data_offset;
}

}  // namespace troupe::zip
