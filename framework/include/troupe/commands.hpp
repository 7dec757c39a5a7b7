// troupe/commands.hpp — running plugin commands (host side): what `troupe lm generate …` does.
//
// Plugins declare commands in plugin.toml ([[commands]] name = "lm generate") and serve them through
// troupe_plugin_run_command (troupe/plugin_command.h). The troupe CLI, the tests and any other program
// run them with run_plugin_command(); the host reads manifests only, and loads just the plugin that
// declares the command (the same loaded plugin `troupe say` would use).
#pragma once

#include <troupe/host.hpp>

#include <string>
#include <vector>

namespace troupe {

/// Global options a command receives (the rest of its context comes from the Host).
struct CommandOptions {
    bool json = false;   // --json
    bool quiet = false;  // -q
};

/// The declared command that `args` starts with: a two-word name when the first two args match one,
/// else a one-word name; nullptr when none matches. `words` is set to the number of args it used.
const CommandEntry* match_command(const std::vector<CommandEntry>& commands, const std::vector<std::string>& args,
                                  size_t& words);

/// True if `word` is a command or the group of commands that some plugin declares.
bool is_plugin_command(const Host& host, const std::string& word);

/// Prints the plugin commands, one line each with its summary and plugin: all of them (an empty
/// `group`) or those of one group ("train": the union of every plugin's `train …` commands).
void print_plugin_commands(const Host& host, const std::string& group);

/// Runs `args` = (group, command, options…) through the plugin that declares the command, loading
/// that plugin first if needed. `<group>` alone, `<group> --help` or an unknown `<group> <x>` print the
/// group's commands (exit 0 for help, 2 otherwise). Returns the exit code (docs/cli.md); errors are
/// printed as "troupe <command>: error: …" on stderr. Never throws.
int run_plugin_command(Host& host, const std::vector<std::string>& args, const CommandOptions& options);

}  // namespace troupe
