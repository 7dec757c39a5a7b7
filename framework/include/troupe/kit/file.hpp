// troupe/kit/file.hpp — plugin kit: reading and writing whole files with errors that name the file.
#pragma once

#include <string>

namespace troupe::kit {

/// The bytes of a file; throws Error(not_found) "<path>: cannot open file" when it cannot be read.
std::string read_file(const std::string& path);

/// Writes `bytes` atomically (a temporary file beside it, then rename); throws Error(runtime) naming
/// the file on failure.
void write_file(const std::string& path, const std::string& bytes);

}  // namespace troupe::kit
