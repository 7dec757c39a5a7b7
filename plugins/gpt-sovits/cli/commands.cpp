// The commands of the gpt-sovits plugin (declared in plugin.toml [[commands]]): the handler table that
// TROUPE_PLUGIN_COMMANDS exports as troupe_plugin_run_command. One tts_<name>.cpp per command.
#include "tts_commands.hpp"

namespace {

const troupe::kit::CommandHandler kCommands[] = {
    {"tts g2p", troupe::sovits::cli::g2p},
    {"tts synth", troupe::sovits::cli::synth},
    {"tts prepare", troupe::sovits::cli::prepare},
    {"train s1", troupe::sovits::cli::train_s1},
    {"train s2", troupe::sovits::cli::train_s2},
    {"voice train", troupe::sovits::cli::voice_train},
};

}  // namespace

TROUPE_PLUGIN_COMMANDS(kCommands)
