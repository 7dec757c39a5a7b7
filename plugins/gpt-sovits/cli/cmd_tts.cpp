// troupe tts <subcommand> ...: dispatcher of the GPT-SoVITS voice tools.
#include "tts_commands.hpp"

#include <fmt/format.h>

#include <iterator>

namespace troupe::cli {

namespace {

// The sub-subcommand table: one line per tool.
const Command kTtsCommands[] = {
    {"g2p", "Korean text → phones and phone ids (GPT-SoVITS v2 front-end)", tts::g2p},
    {"synth", "reference voice + text → 32 kHz speech (GPT-SoVITS v2: S1 + S2)", tts::synth},
    {"prepare", "AI Hub labels + audio → upstream training files (phones, 32 kHz, HuBERT, codes)", tts::prepare},
};

void print_tts_usage() {
    fmt::print("usage: troupe tts <command> [options]\n\nCommands:\n");
    for (const Command& c : kTtsCommands) fmt::print("  {:<10} {}\n", c.name, c.summary);
    fmt::print("\n`troupe tts <command> --help` for a command's options.\n");
}

}  // namespace

int cmd_tts(const std::vector<std::string>& args, const GlobalOptions& global) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_tts_usage();
        return args.empty() ? 2 : 0;
    }
    for (const Command& c : kTtsCommands) {
        if (args[0] != c.name) continue;
        return c.run(std::vector<std::string>(std::next(args.begin()), args.end()), global);
    }
    fmt::print(stderr, "troupe tts: error: unknown command '{}'\n\n", args[0]);
    print_tts_usage();
    return 2;
}

}  // namespace troupe::cli
