// vocab.hpp — the Llama/EEVE tokenizer: a Hugging Face `tokenizer.json` BPE with byte fallback.
//
// Pure C++ (no LibTorch). Reproduces the `tokenizers` library as transformers uses it:
//   added/special tokens split out of the raw text → normalizer (Prepend, Replace) →
//   pre-tokenizer (Metaspace ▁ with prepend_scheme always|first|never, Digits) → BPE by merge rank
//   with byte fallback → post-processor (TemplateProcessing: BOS).
// Decoding runs the file's decoder chain (Replace, ByteFallback, Fuse, Strip, Metaspace).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::llama {

struct VocabLoadOptions {
    /// transformers 5 builds `LlamaTokenizer` (tokenizer_class in tokenizer_config.json) from the
    /// file's vocab and merges only, with its own pipeline: no normalizer, Metaspace with
    /// prepend_scheme first (always if "legacy": true, never if "add_prefix_space": false),
    /// split off, decoder Replace/ByteFallback/Fuse/Strip, BOS/EOS from add_bos_token/add_eos_token.
    /// true: do the same when loading such a folder (older files, like EEVE's, carry the legacy
    /// Prepend+Replace normalizer, which differs for leading spaces and text after special
    /// tokens). false: use the file's own pipeline, as `tokenizers` / transformers 4 do.
    bool follow_tokenizer_class = true;
};

class Vocab {
public:
    /// Loads `tokenizer.json` (a file, or a model folder that holds one). A folder's
    /// `tokenizer_config.json`, if present, names the BOS/EOS tokens (see VocabLoadOptions).
    /// Throws troupe::Error: invalid_file (malformed JSON or tokenizer, message "<path>: what"),
    /// not_found, unsupported (a component type this port does not implement).
    static Vocab load(const std::filesystem::path& path, const VocabLoadOptions& options = {});
    /// Parses tokenizer.json text; `origin` names it in error messages.
    static Vocab from_json_text(std::string_view json_text, const std::string& origin);

    /// Token ids exactly as `tokenizer(text).input_ids` (transformers): add_bos applies the
    /// post-processor template (or prepends BOS if the file has none). Literal special-token
    /// strings ("</s>") become their ids. Throws invalid_argument for text that is not UTF-8.
    std::vector<int64_t> encode(std::string_view text, bool add_bos = true) const;
    /// The token strings of encode() (as `tokenizer.convert_ids_to_tokens`).
    std::vector<std::string> tokenize(std::string_view text, bool add_bos = true) const;

    /// As `tokenizer.decode(ids, skip_special_tokens=skip_special)`: byte-fallback runs that are
    /// not valid UTF-8 become one U+FFFD per byte; unknown ids are ignored; a folder whose
    /// tokenizer_config.json sets clean_up_tokenization_spaces gets transformers' clean-up.
    std::string decode(const std::vector<int64_t>& ids, bool skip_special = true) const;
    std::string decode(const int64_t* ids, size_t count, bool skip_special = true) const;

    int64_t size() const;                        // highest id + 1
    std::optional<int64_t> token_to_id(std::string_view token) const;
    const std::string& id_to_token(int64_t id) const;  // "" for ids outside the vocabulary
    bool is_special(int64_t id) const;
    bool is_byte_token(int64_t id) const;        // "<0xHH>" (decoded by ByteFallback)
    int64_t bos_id() const;                      // -1 when unknown
    int64_t eos_id() const;                      // -1 when unknown
    int64_t unk_id() const;                      // -1 when the model has no unk token
    size_t merge_count() const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    explicit Vocab(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<const Impl> impl_;  // immutable after load; copies are cheap and share caches
};

/// Streams text as ids arrive: push() returns only complete UTF-8 text that can no longer change,
/// flush() the rest. The concatenation of all outputs equals Vocab::decode(all ids) exactly:
/// a run of byte-fallback tokens is held until it ends (one invalid byte turns the whole run into
/// U+FFFD), so a Hangul syllable split over three byte tokens comes out whole.
/// `eager`: emit each character of a byte run as soon as its bytes are complete (lower latency);
/// the output then differs from decode() only where a run later turns out invalid (the characters
/// already out stay, the rest becomes U+FFFD).
class IncrementalDecoder {
public:
    explicit IncrementalDecoder(const Vocab& vocab, bool skip_special = true, bool eager = false);
    std::string push(int64_t id);
    std::string flush();  // end of stream: an unfinished byte run comes out as U+FFFD
    void reset();
    const std::vector<int64_t>& ids() const { return ids_; }

private:
    Vocab vocab_;
    bool skip_special_;
    bool eager_;
    std::string take(bool final);
    std::string run_bytes_;   // eager: bytes of the open byte-token run
    size_t run_emitted_ = 0;  // eager: how many of them are already out
    std::vector<int64_t> ids_;
    size_t committed_ = 0;  // ids_ already decoded and returned
    bool started_ = false;  // some token has produced decoder input (start-of-text rules done)
    size_t emitted_ = 0;    // fallback for decoders that look at the end: bytes of decode(ids_) returned
    std::string pending_;   // clean_up_tokenization_spaces: raw text not yet safe to clean
};

}  // namespace troupe::llama
