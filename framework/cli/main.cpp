// troupe — the command-line host. `troupe <command> --help` describes each command.
//
// The commands in kCommands are the host's own; every other first word is looked up in the plugins'
// manifests ([[commands]] in plugin.toml) and run by the plugin that declares it (troupe/commands.hpp),
// so this executable links no LibTorch: `troupe lm generate` loads the eeve-lora plugin.
#include "command.hpp"

#include <troupe/commands.hpp>

#include <fmt/format.h>

#include <cstring>
#include <iterator>

namespace troupe::cli {
int cmd_plugins(const std::vector<std::string>&, const GlobalOptions&);
int cmd_characters(const std::vector<std::string>&, const GlobalOptions&);
int cmd_say(const std::vector<std::string>&, const GlobalOptions&);
int cmd_speak(const std::vector<std::string>&, const GlobalOptions&);
int cmd_eval(const std::vector<std::string>&, const GlobalOptions&);
int cmd_scene(const std::vector<std::string>&, const GlobalOptions&);
int cmd_data(const std::vector<std::string>&, const GlobalOptions&);
int cmd_serve(const std::vector<std::string>&, const GlobalOptions&);
}  // namespace troupe::cli

namespace {

using namespace troupe::cli;

// The subcommand table: one line per command.
const Command kCommands[] = {
    {"plugins", "list loaded and failed plugins; inspect one", cmd_plugins},
    {"characters", "list, show and validate characters", cmd_characters},
    {"say", "a line from a character's text backend", cmd_say},
    {"speak", "speech from a character's voice", cmd_speak},
    {"eval", "run an eval suite (report.md, results.json, report.html); compare two runs", cmd_eval},
    {"scene", "the main job: a scene script to voiced lines, subtitles and a summary", cmd_scene},
    {"serve", "the cast over HTTP: OpenAI-compatible chat and speech, api_v2 /tts, scene jobs, studio", cmd_serve},
    {"data", "dataset tools: check persona JSONL (schema, duplicates, split leaks)", cmd_data},
};

std::vector<std::string> core_command_names() {
    std::vector<std::string> names;
    for (const Command& c : kCommands) names.push_back(c.name);
    return names;
}

/// The plugin commands, from the manifests only (no library is opened for --help).
void print_plugin_usage(const GlobalOptions& global) {
    try {
        troupe::HostOptions options = global.host;
        options.load_plugins = false;
        options.reserved_commands = core_command_names();
        troupe::Host host(options);
        fmt::print("\nCommands from plugins ([plugin]; `troupe plugins` shows the ones that failed):\n");
        troupe::print_plugin_commands(host, "");
    } catch (const std::exception& e) {
        fmt::print(stderr, "troupe: error: {}\n", e.what());
    }
}

void print_usage(const GlobalOptions& global) {
    fmt::print(
        "usage: troupe [global options] <command> [options]\n\n"
        "Global options (accepted anywhere on the line):\n"
        "  --plugin-path DIR   search DIR for plugins first (repeatable)\n"
        "  --characters DIR    search DIR for characters first (repeatable)\n"
        "  --troupe-config F   user configuration (default: ./troupe.toml, $TROUPE_CONFIG)\n"
        "  --json              machine-readable output\n"
        "  -v, --verbose       debug logging      -q, --quiet   warnings and errors only\n\n"
        "Commands:\n");
    for (const Command& c : kCommands) fmt::print("  {:<12} {}\n", c.name, c.summary);
    print_plugin_usage(global);
    fmt::print("\n`troupe <command> --help` for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
    GlobalOptions global;
    std::vector<std::string> rest;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) {
                fmt::print(stderr, "troupe: error: {} needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--plugin-path") global.host.plugin_paths.push_back(value("--plugin-path"));
        else if (a == "--characters") global.host.character_paths.push_back(value("--characters"));
        else if (a == "--troupe-config") global.host.config_file = value("--troupe-config");
        else if (a == "--json") global.json = true;
        else if (a == "-v" || a == "--verbose") global.host.log_level = troupe::LogLevel::debug;
        else if (a == "-q" || a == "--quiet") { global.quiet = true; global.host.log_level = troupe::LogLevel::warn; }
        else rest.push_back(a);
    }
    global.host.reserved_commands = core_command_names();
    if (rest.empty() || rest[0] == "--help" || rest[0] == "-h" || rest[0] == "help") {
        print_usage(global);
        return rest.empty() ? 2 : 0;
    }
    if (rest[0] == "--version") {
        fmt::print("troupe 0.1.0 ({}; plugins with LibTorch must use {})\n", troupe::host_fingerprint(),
                   troupe::host_torch_version());
        return 0;
    }
    for (const Command& c : kCommands) {
        if (rest[0] != c.name) continue;
        troupe::Host::install_interrupt_handler();
        std::vector<std::string> args(std::next(rest.begin()), rest.end());
        return run_guarded(c.name, [&] { return c.run(args, global); });
    }
    // Not a core command: a plugin's (or unknown, which run_plugin_command reports).
    troupe::Host::install_interrupt_handler();
    return run_guarded(rest[0].c_str(), [&] {
        troupe::HostOptions options = global.host;
        options.load_plugins = false;  // only the plugin that serves the command is loaded
        options.reserved_commands = core_command_names();
        troupe::Host host(options);
        if (!troupe::is_plugin_command(host, rest[0])) {
            fmt::print(stderr, "troupe: error: unknown command '{}'\n\n", rest[0]);
            print_usage(global);
            return 2;
        }
        troupe::CommandOptions co;
        co.json = global.json;
        co.quiet = global.quiet;
        return troupe::run_plugin_command(host, rest, co);
    });
}
