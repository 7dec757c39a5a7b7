// The troupe CLI's own subcommands (plugins, characters, say, speak, scene, eval, data): each one
// function in its own file. Commands that need LibTorch are served by plugins (troupe/commands.hpp);
// plugins never include this header (they use the plugin kit, troupe/kit/*.hpp).
#pragma once

#include <troupe/host.hpp>
#include <troupe/kit/cli.hpp>

#include <boost/program_options.hpp>

#include <string>
#include <vector>

namespace troupe::cli {

/// Options every subcommand accepts (parsed before the subcommand's own).
struct GlobalOptions {
    HostOptions host;
    bool json = false;     // machine-readable output on stdout
    bool quiet = false;
};

/// `args` are the subcommand's own arguments (after the subcommand name).
using CommandFn = int (*)(const std::vector<std::string>& args, const GlobalOptions& global);

struct Command {
    const char* name;
    const char* summary;
    CommandFn run;
};

// The command-line helpers are the plugin kit's (one copy for the CLI and the plugins).
using kit::exit_code;
using kit::parse_options;
using kit::print_json;
using kit::Progress;
using kit::run_guarded;
using kit::stderr_is_tty;
using kit::check_generation_options;
using kit::check_output_file;
using kit::kMaxNewTokensLimit;

}  // namespace troupe::cli
