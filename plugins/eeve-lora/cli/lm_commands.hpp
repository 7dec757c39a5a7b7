// The eeve-lora plugin's commands (`troupe lm …`, `troupe bench lm`, `troupe train lora|base`): one
// function per command, listed in commands.cpp.
#pragma once

#include <troupe/kit/command.hpp>

#include <string>
#include <vector>

namespace troupe::llama::cli {

using kit::CommandContext;

int tokenize(const std::vector<std::string>& args, const CommandContext& ctx);
int forward(const std::vector<std::string>& args, const CommandContext& ctx);
int generate(const std::vector<std::string>& args, const CommandContext& ctx);
int bench(const std::vector<std::string>& args, const CommandContext& ctx);
/// `train lora` or `train base` (ctx.command() says which).
int train(const std::vector<std::string>& args, const CommandContext& ctx);

/// The tiny conformance model folder ($TROUPE_CONFORMANCE_DIR/llama-lora/base), the bench default.
std::string default_bench_model();

}  // namespace troupe::llama::cli
