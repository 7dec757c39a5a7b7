// Shared helpers of the libFuzzer targets: the readers under test take file paths (as the product
// calls them), so each input is written to a file in a per-process scratch folder (on /dev/shm
// when it exists, so the write costs no disk I/O) and the real reader is called on it.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace troupe::fuzz {

/// The scratch folder of this process, created on first use and removed at exit (the string is
/// never destroyed, so that the exit handler can still use it).
inline const std::string& scratch_dir() {
    static const std::string* dir = [] {
        const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        auto* d = new std::string(std::string(base) + "/troupe-fuzz-" + std::to_string(getpid()));
        std::filesystem::create_directories(*d);
        std::atexit([] { std::error_code ec; std::filesystem::remove_all(scratch_dir(), ec); });
        return d;
    }();
    return *dir;
}

/// Writes `size` bytes to `scratch_dir()/name` (folders created) and returns the path.
inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
    const std::string path = scratch_dir() + "/" + name;
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
        std::filesystem::create_directories(std::filesystem::path(path).parent_path());
        f = std::fopen(path.c_str(), "wb");
    }
    if (!f) std::abort();
    if (size && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
    return path;
}

inline std::string write_input(const std::string& name, const std::string& text) {
    return write_input(name, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace troupe::fuzz
