// The gpt-sovits plugin's commands (`troupe tts …`, `troupe train s1`): one function per command, each
// in its own <group>_<name>.cpp, listed in commands.cpp's table.
#pragma once

#include <troupe/kit/command.hpp>

#include <string>
#include <vector>

namespace troupe::sovits::cli {

using kit::CommandContext;

/// `troupe tts g2p --text "…" [--split METHOD] [--json]`: the Korean front-end's phones and ids.
int g2p(const std::vector<std::string>& args, const CommandContext& ctx);

/// `troupe tts prepare (--aihub DIR | --list FILE) -o OUT [--hubert DIR] [--s2 FILE]`: training data in
/// upstream's formats (list, 2-name2text, 5-wav32k, 4-cnhubert, 6-name2semantic); skipped files reported.
int prepare(const std::vector<std::string>& args, const CommandContext& ctx);

/// `troupe tts synth --s1 F --s2 F (--hubert DIR | --prompt-codes F) --ref WAV (--ref-text "…" --text "…" |
/// --phone-ids F) -o out.wav [--seed N] [--top-k K] [--noise-scale X] [--speed X] [--dump F] [--json]`.
int synth(const std::vector<std::string>& args, const CommandContext& ctx);

/// `troupe train s1 --config R.toml [--output DIR] [--device D] [--max-steps N] [--no-resume]`: S1
/// fine-tuning from a prepared folder and a pretrained .ckpt (train_s1.cpp, docs/voice-training.md).
int train_s1(const std::vector<std::string>& args, const CommandContext& ctx);

/// `troupe train s2 --config R.toml [--output DIR] [--device D] [--max-steps N] [--no-resume]`: S2 (SoVITS)
/// fine-tuning from a prepared folder and the pretrained generator/discriminator (docs/voice-training.md).
int train_s2(const std::vector<std::string>& args, const CommandContext& ctx);

/// `troupe voice train CHARACTER --clips DIR [--s1 F --s2 F] [--recipe seed|upstream] [--output DIR]
/// [--max-steps N]`: prepare → S1 → S2 → weights and reference into the character's folder and its
/// character.toml [speech] (atomically, .bak kept). voice_train.cpp, docs/voice-training.md.
int voice_train(const std::vector<std::string>& args, const CommandContext& ctx);

}  // namespace troupe::sovits::cli
