// troupe/nn/file_hash.hpp — SHA-256 of model files, so reports can say exactly which checkpoint produced a number.
// (The hash itself is the plugin kit's: troupe/kit/sha256.hpp, kit::sha256_file for a single file.)
#pragma once

#include <string>
#include <vector>

namespace troupe::nn {

/// One hash for a model: the file's SHA-256 for one file; for several (shards), the SHA-256 of the lines
/// "<file name> <sha256>\n" in the given order.
std::string model_sha256(const std::vector<std::string>& paths);

/// The weight files of a HF folder, sorted: *.safetensors, else pytorch_model*.bin.
std::vector<std::string> weight_files(const std::string& dir);

}  // namespace troupe::nn
