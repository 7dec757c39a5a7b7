// troupe-eval: the eval subcommand as its own small program (no LibTorch linked), for machines or CI
// jobs that only run suites and reports. `troupe-eval ARGS` == `troupe eval ARGS`.
#include "command.hpp"

#include <fmt/format.h>

#include <cstdlib>

namespace troupe::cli {
int cmd_eval(const std::vector<std::string>&, const GlobalOptions&);
}

int main(int argc, char** argv) {
    using namespace troupe::cli;
    GlobalOptions global;
    std::vector<std::string> rest;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) {
                fmt::print(stderr, "troupe-eval: error: {} needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--plugin-path") global.host.plugin_paths.push_back(value("--plugin-path"));
        else if (a == "--characters") global.host.character_paths.push_back(value("--characters"));
        else if (a == "--config") global.host.config_file = value("--config");
        else if (a == "--json") global.json = true;
        else if (a == "-v" || a == "--verbose") global.host.log_level = troupe::LogLevel::debug;
        else if (a == "-q" || a == "--quiet") { global.quiet = true; global.host.log_level = troupe::LogLevel::warn; }
        else rest.push_back(a);
    }
    troupe::Host::install_interrupt_handler();
    return run_guarded("eval", [&] { return cmd_eval(rest, global); });
}
