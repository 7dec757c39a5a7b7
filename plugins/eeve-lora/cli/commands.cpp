// The commands of the eeve-lora plugin (declared in plugin.toml [[commands]]): the handler table that
// TROUPE_PLUGIN_COMMANDS exports as troupe_plugin_run_command.
#include "lm_commands.hpp"

namespace {

const troupe::kit::CommandHandler kCommands[] = {
    {"lm tokenize", troupe::llama::cli::tokenize},
    {"lm forward", troupe::llama::cli::forward},
    {"lm generate", troupe::llama::cli::generate},
    {"lm bench", troupe::llama::cli::bench},
    {"bench lm", troupe::llama::cli::bench},
    {"train lora", troupe::llama::cli::train},
    {"train base", troupe::llama::cli::train},
};

}  // namespace

TROUPE_PLUGIN_COMMANDS(kCommands)
