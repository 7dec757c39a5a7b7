// The `troupe lm` sub-subcommands and the helpers they share.
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace troupe::cli::lm {

int tokenize(const std::vector<std::string>& args, const GlobalOptions& global);
int forward(const std::vector<std::string>& args, const GlobalOptions& global);
int generate(const std::vector<std::string>& args, const GlobalOptions& global);
int bench(const std::vector<std::string>& args, const GlobalOptions& global);

/// The tiny conformance model folder ($TROUPE_CONFORMANCE_DIR/llama-lora/base), the bench default.
std::string default_bench_model();

}  // namespace troupe::cli::lm
