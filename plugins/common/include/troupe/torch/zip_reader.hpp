// troupe/torch/zip_reader.hpp — a minimal, bounds-checked reader for uncompressed ("stored") zip
// archives, as written by torch.save. No LibTorch, no zlib.
//
// The archive is untrusted input: every offset and length in the end-of-central-directory record
// (zip64 included), the central directory and the local headers is checked against the buffer.
// Files whose first two bytes were overwritten with a version tag (GPT-SoVITS v2Pro/v3/v4 `.pth`:
// "05", "06", "03", "04" instead of "PK") are accepted; the tag is reported by version_tag().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace troupe::zip {

struct Entry {
    std::string name;
    uint64_t data_offset = 0;  // offset of the entry's bytes inside the archive buffer
    uint64_t size = 0;         // uncompressed size (== stored size)
    uint16_t method = 0;       // 0 = stored; anything else is refused by Archive::data()
};

/// A parsed view of an archive held in memory (the caller keeps the buffer alive).
class Archive {
public:
    /// Parses `data[0, size)`; throws troupe::Error(invalid_file) naming `path` on any inconsistency.
    static Archive parse(const uint8_t* data, size_t size, const std::string& path);

    const std::vector<Entry>& entries() const { return entries_; }
    /// The entry with exactly this name, or nullptr.
    const Entry* find(const std::string& name) const;
    /// Pointer to the bytes of a stored entry (throws for compressed entries).
    const uint8_t* data(const Entry& e) const;
    /// "" for a normal archive ("PK" at offset 0), otherwise the two replaced bytes (e.g. "05").
    const std::string& version_tag() const { return version_tag_; }
    const std::string& path() const { return path_; }

private:
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    std::string path_;
    std::string version_tag_;
    std::vector<Entry> entries_;
};

}  // namespace troupe::zip
