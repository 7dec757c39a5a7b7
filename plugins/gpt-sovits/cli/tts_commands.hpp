// The `troupe tts` command group: one function per sub-subcommand, each in its own tts_<name>.cpp,
// listed in cmd_tts.cpp's table.
#pragma once

#include "command.hpp"

#include <string>
#include <vector>

namespace troupe::cli::tts {

/// `troupe tts g2p --text "…" [--split METHOD] [--json]`: the Korean front-end's phones and ids.
int g2p(const std::vector<std::string>& args, const GlobalOptions& global);

/// `troupe tts prepare (--aihub DIR | --list FILE) -o OUT [--hubert DIR] [--s2 FILE]`: training data in
/// upstream's formats (list, 2-name2text, 5-wav32k, 4-cnhubert, 6-name2semantic); skipped files reported.
int prepare(const std::vector<std::string>& args, const GlobalOptions& global);

/// `troupe tts synth --s1 F --s2 F (--hubert DIR | --prompt-codes F) --ref WAV (--ref-text "…" --text "…" |
/// --phone-ids F) -o out.wav [--seed N] [--top-k K] [--noise-scale X] [--speed X] [--dump F] [--json]`.
int synth(const std::vector<std::string>& args, const GlobalOptions& global);

/// `troupe train s1 --config R.toml [--output DIR] [--device D] [--max-steps N] [--no-resume]`: S1
/// fine-tuning from a prepared folder and a pretrained .ckpt (docs/voice-training.md).
int train_s1(const std::vector<std::string>& args, const GlobalOptions& global);

}  // namespace troupe::cli::tts
