// vocab_trainer.hpp — trains a byte-fallback BPE tokenizer in the Llama layout and writes it as a
// Hugging Face tokenizer.json that troupe::llama::Vocab (and transformers) load.
//
// Layout: <unk>=0, <s>=1, </s>=2, <0x00>..<0xFF>=3..258, then the merged pieces in merge order,
// then the single characters of the alphabet (most frequent first). Text is handled as
// SentencePiece with add_dummy_prefix does it: spaces become "▁", one "▁" is prepended to each
// line, and every "▁" starts a new word, so no piece has "▁" after its first character.
// Characters outside the alphabet (below `character_coverage`) are encoded as UTF-8 bytes; digits
// are never merged (split_digits). Pure C++, deterministic.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace troupe::llama {

struct BpeTrainerOptions {
    int64_t vocab_size = 8000;           // total, including the 3 specials and 256 byte tokens
    double character_coverage = 0.9995;  // share of character occurrences the alphabet covers
    int max_piece_chars = 16;            // longest merged piece, in characters
    bool split_digits = true;            // never merge a digit with anything
    int64_t min_pair_count = 2;          // stop early when the best pair is rarer than this
};

struct BpeTrainingStats {
    int64_t lines = 0, skipped_lines = 0;  // skipped: not valid UTF-8
    int64_t characters = 0, unique_words = 0;
    int64_t alphabet = 0, merges = 0, vocab_size = 0;
    double seconds = 0;
};

class BpeTrainer {
public:
    explicit BpeTrainer(BpeTrainerOptions options = {});

    /// Adds text; every line is one sentence. Lines that are not valid UTF-8 are skipped (counted).
    void add_text(std::string_view text);
    /// Adds a UTF-8 text file line by line. Throws troupe::Error (not_found) if it cannot be read.
    void add_file(const std::filesystem::path& path);

    /// Trains and returns the tokenizer.json text. Throws invalid_argument for an empty corpus or
    /// a vocab_size too small for the fixed layout (< 260).
    std::string train();
    const BpeTrainingStats& stats() const { return stats_; }

    /// Writes tokenizer.json, tokenizer_config.json and special_tokens_map.json into `dir`
    /// (created if missing) — a folder transformers' AutoTokenizer and Vocab::load accept.
    static void write_folder(const std::string& tokenizer_json, const std::filesystem::path& dir);

private:
    BpeTrainerOptions options_;
    BpeTrainingStats stats_;
    std::unordered_map<std::string, int64_t> word_counts_;  // "▁word" → occurrences
    std::vector<int64_t> bmp_counts_ = std::vector<int64_t>(0x10000, 0);  // characters below U+10000
    std::unordered_map<char32_t, int64_t> astral_counts_;                  // the others
};

}  // namespace troupe::llama
