// Test-only: runs a plugin command in-process through the host, as `troupe ARGS…` does — the host
// reads the manifests of the build's plugins and loads the one that declares the command — with stdout
// captured: (exit code, stdout). Include as "../common/plugin_command.hpp"; link troupe_core.
#pragma once

#include "capture_stdout.hpp"

#include <troupe/commands.hpp>

#include <string>
#include <utility>
#include <vector>

namespace troupe::test {

/// One host for the test process (plugins are loaded once and never unloaded).
inline Host& command_host() {
    static Host host([] {
        HostOptions options;
        options.load_plugins = false;
        options.log_level = LogLevel::warn;
        return options;
    }());
    return host;
}

inline std::pair<int, std::string> run_command(const std::vector<std::string>& args, bool json, bool quiet = false) {
    CommandOptions options;
    options.json = json;
    options.quiet = quiet;
    return capture_stdout([&] { return run_plugin_command(command_host(), args, options); });
}

}  // namespace troupe::test
