// troupe/kit/command.hpp — plugin kit: serving the commands a plugin declares in plugin.toml.
//
//     // one function per command: its arguments (after the command's words) and the context
//     int generate(const std::vector<std::string>& args, const troupe::kit::CommandContext& ctx);
//
//     const troupe::kit::CommandHandler kCommands[] = {
//         {"lm generate", generate},   // the names declared in plugin.toml [[commands]]
//         {"bench lm", bench},
//     };
//     TROUPE_PLUGIN_COMMANDS(kCommands)   // exports troupe_plugin_run_command (one source file)
//
// The exported function wraps the C context (troupe/plugin_command.h) in a CommandContext, calls the
// handler whose name matches, and turns exceptions into exit codes with the error printed as
// "troupe lm generate: error: …" (kit::run_guarded). Parse options with kit::parse_options.
#pragma once

#include <troupe/kit/cli.hpp>
#include <troupe/plugin.hpp>

#include <iterator>
#include <string>
#include <vector>

namespace troupe::kit {

/// A C++ view of one command call's context. Copies what it needs; valid during the call.
class CommandContext {
public:
    explicit CommandContext(const troupe_command_context& context);

    const std::string& command() const { return command_; }       // "lm generate"
    bool json = false;                                            // --json
    bool quiet = false;                                           // -q
    LogLevel log_level = LogLevel::info;
    const std::string& plugin_name() const { return plugin_name_; }
    const std::string& plugin_dir() const { return plugin_dir_; }
    /// The plugin's resolved parameters: plugin.toml [defaults] < troupe.toml [plugin.<name>], plus
    /// "host.data_dir" (read them with kit::ParamReader).
    const Params& params() const { return params_; }
    /// troupe.toml [characters] allow_dirs (absolute).
    const std::vector<std::string>& allow_dirs() const { return allow_dirs_; }

    /// Logs through the host (stderr, filtered by -v/-q).
    void log(LogLevel level, const std::string& message) const;
    /// True once the user pressed Ctrl-C: stop, and return 130 (or throw Error(Errc::cancelled)).
    bool cancelled() const;
    /// The absolute folder of a character (id or display name); throws Error(not_found) with the
    /// host's reason when there is none.
    std::string character_folder(const std::string& id_or_name) const;

private:
    const troupe_command_context* c_;
    std::string command_, plugin_name_, plugin_dir_;
    Params params_;
    std::vector<std::string> allow_dirs_;
};

/// One command of a plugin: `args` are the arguments after the command's words.
using CommandFn = int (*)(const std::vector<std::string>& args, const CommandContext& ctx);
struct CommandHandler {
    const char* name;  // as declared in plugin.toml, "lm generate"
    CommandFn run;
};

/// What TROUPE_PLUGIN_COMMANDS exports: finds the handler and runs it guarded. Never throws.
int dispatch_command(const troupe_command_context* context, const CommandHandler* handlers, size_t count) noexcept;

}  // namespace troupe::kit

/// Exports troupe_plugin_run_command over a table of kit::CommandHandler (one source file per plugin).
#define TROUPE_PLUGIN_COMMANDS(handlers)                                                              \
    TROUPE_PLUGIN_EXPORT int troupe_plugin_run_command(const troupe_command_context* context) {     \
        return ::troupe::kit::dispatch_command(context, handlers, std::size(handlers));              \
    }
