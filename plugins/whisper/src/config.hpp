// config.hpp — the three JSON files of a HF Whisper folder that shape the computation:
// config.json (WhisperConfig), generation_config.json (special tokens, suppression lists, languages) and
// preprocessor_config.json (WhisperFeatureExtractor: mel bins, window, hop, 30 s chunk).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace troupe::whisper {

/// WhisperConfig fields the model needs (config.json).
struct ModelConfig {
    int64_t d_model = 0, encoder_layers = 0, decoder_layers = 0;
    int64_t encoder_heads = 0, decoder_heads = 0, encoder_ffn = 0, decoder_ffn = 0;
    int64_t num_mel_bins = 80, vocab_size = 0, max_source_positions = 1500, max_target_positions = 448;
    std::string activation = "gelu";
    bool scale_embedding = false;
    bool tie_word_embeddings = true;

    /// Reads and checks `path` (dimensions positive, heads dividing d_model); throws Error naming the file.
    static ModelConfig read(const std::string& path);
};

/// generation_config.json: what generate() uses besides the model.
struct GenerationSettings {
    int64_t decoder_start_token_id = -1;  // <|startoftranscript|>
    int64_t eos_token_id = -1;            // <|endoftext|>
    int64_t no_timestamps_token_id = -1;  // <|notimestamps|>, -1 when absent
    std::vector<int64_t> suppress_tokens, begin_suppress_tokens;
    std::map<std::string, int64_t> lang_to_id;  // "<|ko|>" -> id
    std::map<std::string, int64_t> task_to_id;  // "transcribe" -> id
    bool is_multilingual = false;
    int64_t max_length = 448;

    /// Reads `path`; token ids missing there fall back to `config_json` (config.json's copies).
    static GenerationSettings read(const std::string& path, const std::string& config_json);
    /// The decoder prompt: <|startoftranscript|> [<|lang|> <|task|>] [<|notimestamps|>]. `language` is a code
    /// ("ko") or a token ("<|ko|>"); both language and task are ignored by English-only models and must be
    /// known to multilingual ones. Throws Error naming what is missing.
    std::vector<int64_t> prompt(const std::string& language, const std::string& task) const;
};

/// preprocessor_config.json (WhisperFeatureExtractor).
struct FrontEndConfig {
    int64_t feature_size = 80, sampling_rate = 16000, hop_length = 160, n_fft = 400, chunk_length = 30;
    int64_t n_samples = 480000, nb_max_frames = 3000;
    double dither = 0.0;

    static FrontEndConfig read(const std::string& path);
};

}  // namespace troupe::whisper
