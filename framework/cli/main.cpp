// troupe — the command-line host. `troupe <command> --help` describes each command.
#include "command.hpp"

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
int cmd_train(const std::vector<std::string>&, const GlobalOptions&);
int cmd_tts(const std::vector<std::string>&, const GlobalOptions&);
int cmd_data(const std::vector<std::string>&, const GlobalOptions&);
int cmd_lm(const std::vector<std::string>&, const GlobalOptions&);
int cmd_bench(const std::vector<std::string>&, const GlobalOptions&);
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
    {"train", "train a LoRA persona adapter or a small base model", cmd_train},
    {"scene", "the main job: a scene script to voiced lines, subtitles and a summary", cmd_scene},
    {"serve", "the cast over HTTP: OpenAI-compatible chat and speech, api_v2 /tts, scene jobs, studio", cmd_serve},
    {"tts", "GPT-SoVITS voice tools (g2p, ...)", cmd_tts},
    {"data", "dataset tools: check persona JSONL (schema, duplicates, split leaks)", cmd_data},
    {"lm", "the Llama text backend: tokenize, forward (logits), generate, bench", cmd_lm},
    {"bench", "benchmarks (lm: prefill/decode tok/s, peak memory)", cmd_bench},
};

void print_usage() {
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
    if (rest.empty() || rest[0] == "--help" || rest[0] == "-h" || rest[0] == "help") {
        print_usage();
        return rest.empty() ? 2 : 0;
    }
    if (rest[0] == "--version") {
        fmt::print("troupe 0.1.0 ({})\n", troupe::build_fingerprint());
        return 0;
    }
    for (const Command& c : kCommands) {
        if (rest[0] != c.name) continue;
        troupe::Host::install_interrupt_handler();
        std::vector<std::string> args(std::next(rest.begin()), rest.end());
        return run_guarded(c.name, [&] { return c.run(args, global); });
    }
    fmt::print(stderr, "troupe: error: unknown command '{}'\n\n", rest[0]);
    print_usage();
    return 2;
}
