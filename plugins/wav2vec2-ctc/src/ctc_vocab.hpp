// ctc_vocab.hpp — a Wav2Vec2CTCTokenizer vocabulary and greedy CTC decoding (no LibTorch).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace troupe::w2v {

/// Result of greedy CTC decoding of per-frame argmax ids.
struct CtcDecoded {
    std::vector<int64_t> collapsed;        // consecutive repeats merged (blanks kept)
    std::vector<int64_t> without_blank;    // collapsed, blanks dropped
    std::string text;                      // symbols joined, the word delimiter replaced by a space
    std::string text_stripped;             // `text` without outer spaces (= Wav2Vec2CTCTokenizer.decode)
};

class CtcVocab {
public:
    /// Reads `dir`/vocab.json and, when present, `dir`/tokenizer_config.json (pad_token = CTC blank,
    /// word_delimiter_token, replace_word_delimiter_char, target_lang for nested multilingual vocabularies).
    static CtcVocab load_dir(const std::string& dir);
    /// Builds from id-ordered symbols (for tests and tools).
    static CtcVocab from_symbols(std::vector<std::string> symbols, const std::string& blank = "<pad>",
                                 const std::string& word_delimiter = "|");

    size_t size() const { return symbols_.size(); }
    int64_t blank_id() const { return blank_id_; }
    int64_t word_delimiter_id() const { return delimiter_id_; }  // -1 if the vocabulary has none
    const std::string& symbol(int64_t id) const;                   // throws Error(invalid_argument) if out of range

    /// Greedy CTC: collapse repeats, drop the blank, map to symbols, word delimiter -> `replace_char`.
    /// Ids outside the vocabulary throw Error(invalid_argument).
    CtcDecoded decode(const std::vector<int64_t>& frame_ids) const;

private:
    std::vector<std::string> symbols_;
    int64_t blank_id_ = 0;
    int64_t delimiter_id_ = -1;
    std::string replace_char_ = " ";
};

}  // namespace troupe::w2v
