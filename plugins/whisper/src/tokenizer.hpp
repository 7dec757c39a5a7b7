// tokenizer.hpp — turning Whisper token ids back into text, as transformers' WhisperTokenizer.decode(ids,
// skip_special_tokens=True) does: special and timestamp tokens (every id from <|endoftext|> on) are dropped,
// the byte-level BPE symbols are mapped back to bytes (GPT-2's byte↔unicode table) and decoded as UTF-8 with
// U+FFFD for invalid sequences (Python's errors="replace": one per maximal invalid subpart).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::whisper {

class Tokenizer {
public:
    /// Reads `dir`/tokenizer.json (model.vocab + added_tokens), or else vocab.json (+ added_tokens.json).
    /// `first_special` is the id of <|endoftext|>: ids from there on are never text.
    /// tokenizer_config.json's clean_up_tokenization_spaces is honoured when present and true.
    static Tokenizer load_dir(const std::string& dir, int64_t first_special);

    std::string decode(const std::vector<int64_t>& ids) const;
    size_t size() const { return pieces_.size(); }
    /// The token's string as stored (byte-level symbols), "" for an unknown id.
    const std::string& piece(int64_t id) const;

    /// UTF-8 decoding with Python's errors="replace" behaviour (exposed for tests).
    static std::string decode_utf8_replace(const std::string& bytes);

private:
    std::vector<std::string> pieces_;  // id -> byte-level token string (UTF-8)
    int64_t first_special_ = 0;
    bool clean_up_spaces_ = false;
};

}  // namespace troupe::whisper
