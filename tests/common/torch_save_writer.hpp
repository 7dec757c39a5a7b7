// Test-only writers for hand-built torch.save archives: a protocol-2 pickle builder and a stored
// (uncompressed) zip whose local headers are 64-byte aligned like torch's. Shared by tests/ssl and
// tests/torch_checkpoint; include as "../common/torch_save_writer.hpp".
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace troupe::test {

/// Appends pickle opcodes to `b` (which starts with the PROTO 2 header).
struct PickleWriter {
    std::string b = std::string("\x80\x02", 2);
    PickleWriter& op(char c) { b.push_back(c); return *this; }
    PickleWriter& raw(const std::string& s) { b += s; return *this; }
    PickleWriter& u32(uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(char((v >> (8 * i)) & 0xFF)); return *this; }
    PickleWriter& str(const std::string& s) { op('X'); u32(uint32_t(s.size())); return raw(s); }    // BINUNICODE
    PickleWriter& i1(uint8_t v) { op('K'); b.push_back(char(v)); return *this; }                     // BININT1
    PickleWriter& i4(int64_t v) { op('J'); return u32(uint32_t(int32_t(v))); }                      // BININT
    PickleWriter& global(const std::string& m, const std::string& n) { op('c'); return raw(m + "\n" + n + "\n"); }
    PickleWriter& mark() { return op('('); }
    PickleWriter& stop() { return op('.'); }
    std::vector<uint8_t> bytes() const { return {b.begin(), b.end()}; }
};

/// A stored zip with the given entries (name, bytes), in order; each local header carries torch's
/// "FB" extra field padding its data to a 64-byte boundary. CRCs are left 0.
inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& files) {
    std::string out, cd;
    auto u16 = [](std::string& s, uint16_t v) { s.push_back(char(v & 0xFF)); s.push_back(char(v >> 8)); };
    auto u32 = [](std::string& s, uint32_t v) { for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xFF)); };
    for (const auto& [name, data] : files) {
        const uint32_t off = uint32_t(out.size());
        const size_t pad = (64 - (out.size() + 30 + name.size() + 4) % 64) % 64;
        std::string extra;
        u16(extra, 0x4246);  // "FB" padding field, as torch writes
        u16(extra, uint16_t(pad));
        extra.append(pad, 'Z');
        u32(out, 0x04034b50); u16(out, 20); u16(out, 0); u16(out, 0); u32(out, 0); u32(out, 0);
        u32(out, uint32_t(data.size())); u32(out, uint32_t(data.size()));
        u16(out, uint16_t(name.size())); u16(out, uint16_t(extra.size()));
        out += name + extra + data;
        u32(cd, 0x02014b50); u16(cd, 20); u16(cd, 20); u16(cd, 0); u16(cd, 0); u32(cd, 0); u32(cd, 0);
        u32(cd, uint32_t(data.size())); u32(cd, uint32_t(data.size()));
        u16(cd, uint16_t(name.size())); u16(cd, 0); u16(cd, 0); u16(cd, 0); u16(cd, 0); u32(cd, 0); u32(cd, off);
        cd += name;
    }
    const uint32_t cd_off = uint32_t(out.size());
    out += cd;
    u32(out, 0x06054b50); u16(out, 0); u16(out, 0); u16(out, uint16_t(files.size())); u16(out, uint16_t(files.size()));
    u32(out, uint32_t(cd.size())); u32(out, cd_off); u16(out, 0);
    return out;
}

}  // namespace troupe::test
