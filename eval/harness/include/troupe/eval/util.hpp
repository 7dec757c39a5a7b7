// troupe/eval/util.hpp — run bookkeeping for the harness: hashes, git revision, process memory.
#pragma once

#include <troupe/kit/sha256.hpp>

#include <string>

namespace troupe::eval {

/// Lowercase hex SHA-256 of bytes (the plugin kit's).
using kit::sha256_hex;
/// `git rev-parse HEAD` of `dir` (plus "-dirty" when the tree has changes); "unknown" on failure.
std::string git_revision(const std::string& dir);
/// Resets the process's peak resident set (Linux /proc/self/clear_refs); false when unsupported.
bool reset_peak_rss();
/// Peak resident set size of this process in MiB (VmHWM), 0 when unknown.
double peak_rss_mib();
/// Peak GPU memory of this process in MiB sampled from `nvidia-smi`, or -1 when unavailable.
double gpu_memory_mib();
/// ISO-8601 UTC timestamp.
std::string utc_now();

}  // namespace troupe::eval
