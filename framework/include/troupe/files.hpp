// troupe/files.hpp — writing outputs so that a crash or SIGKILL at any point loses and duplicates
// nothing, and keeping two runs from writing one folder at once.
#pragma once

#include <string>

namespace troupe {

/// Writes `content` to `path` atomically: into `path.tmp` in the same folder, flushed (fsync), then
/// renamed over `path`, and the folder synced. Readers see the old file or the new one, never a
/// part. Throws Error(runtime) naming the path on failure (the temporary file is removed).
void write_file_atomic(const std::string& path, const std::string& content);

/// Syncs a folder so that renames into it survive a crash (best effort).
void sync_dir(const std::string& dir) noexcept;

/// An exclusive advisory lock (flock) on `<dir>/<name>`, held until destruction (or process exit,
/// including SIGKILL: the kernel drops it). Throws Error(invalid_argument) when another process
/// holds it, naming the folder and that process's pid.
class DirLock {
public:
    DirLock(const std::string& dir, const std::string& name, const std::string& what);
    ~DirLock();
    DirLock(const DirLock&) = delete;
    DirLock& operator=(const DirLock&) = delete;

private:
    int fd_ = -1;
    std::string path_;
};

}  // namespace troupe
