// troupe/kit/sha256.hpp — plugin kit: SHA-256 (FIPS 180-4) of bytes and of files, so results can name
// exactly which configuration, data or checkpoint produced a number. No LibTorch; one copy for the host,
// the eval harness and the model plugins.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::kit {

/// Incremental SHA-256: update() any number of times, then hex() once.
class Sha256 {
public:
    void update(const void* data, size_t n);
    void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
    /// Finishes the digest: 64 lowercase hexadecimal digits. The object is spent afterwards.
    std::string hex();

private:
    void compress();
    std::array<uint32_t, 8> h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::array<unsigned char, 64> block_{};
    size_t fill_ = 0;
    uint64_t bits_ = 0;
};

/// SHA-256 of `bytes` as 64 lowercase hexadecimal digits.
std::string sha256_hex(std::string_view bytes);

/// SHA-256 of a file's contents (read in 1 MiB pieces); throws Error(not_found) "cannot read <path> to
/// hash it" when it cannot be opened.
std::string sha256_file(const std::string& path);

}  // namespace troupe::kit
