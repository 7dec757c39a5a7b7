// recognizer.hpp — a loaded Whisper folder and the whole transcription: 16 kHz samples → consecutive windows
// of the front end's chunk length (30 s for the released models) → log-mel features → encoder → greedy or
// beam search with the forced language/task prompt → text. Windows are decoded independently (no previous-
// text conditioning, no timestamps) and batched; their texts are trimmed and joined with one space.
#pragma once

#include "config.hpp"
#include "features.hpp"
#include "model.hpp"
#include "search.hpp"
#include "tokenizer.hpp"

#include <memory>
#include <string>
#include <vector>

namespace troupe::whisper {

struct RecognizerOptions {
    LoadOptions load;
    std::string language = "ko";    // code or token; "" = let the model pick (not forced)
    std::string task = "transcribe";
    SearchOptions search;
    int64_t batch_windows = 8;      // windows per encoder/decoder batch
};

struct WindowResult {
    std::vector<int64_t> tokens;
    bool ended = false;
    std::string text;  // decoded, not trimmed
};

class Recognizer {
public:
    /// Reads config.json, generation_config.json, preprocessor_config.json, the tokenizer and the weights of
    /// `dir`; throws Error naming the missing or malformed file or tensor.
    static std::unique_ptr<Recognizer> load_dir(const std::string& dir, const RecognizerOptions& options);

    const ModelConfig& config() const { return model_->config(); }
    const GenerationSettings& settings() const { return settings_; }
    const LogMel& front_end() const { return front_end_; }
    const Tokenizer& tokenizer() const { return tokenizer_; }
    const WhisperForConditionalGeneration& model() const { return *model_; }
    const std::vector<int64_t>& prompt() const { return prompt_; }
    const RecognizerOptions& options() const { return options_; }

    /// Each window of `samples` (16 kHz mono, float) decoded: one result per window.
    std::vector<WindowResult> transcribe_windows(const std::vector<float>& samples) const;
    /// Decodes feature batches [B, n_mels, frames] (for tests and the batched path).
    std::vector<WindowResult> decode_features(const at::Tensor& features) const;
    /// The joined text of transcribe_windows().
    std::string transcribe(const std::vector<float>& samples) const;

private:
    Recognizer(const std::string& dir, const RecognizerOptions& options);
    RecognizerOptions options_;
    GenerationSettings settings_;
    LogMel front_end_;
    Tokenizer tokenizer_;
    std::shared_ptr<WhisperForConditionalGeneration> model_;
    std::vector<int64_t> prompt_;
};

}  // namespace troupe::whisper
