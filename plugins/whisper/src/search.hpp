// search.hpp — transformers' generate() for Whisper, short-form, without timestamps: the decoder prompt
// (<|startoftranscript|> <|lang|> <|task|> <|notimestamps|>), logits processors SuppressTokens (every step) and
// SuppressTokensAtBegin (the first generated position), then greedy search or beam search with the semantics
// of transformers' vectorised _beam_search (2·beams candidates per step, a finished hypothesis scored
// sum-log-prob / generated_length^length_penalty counting the end token, early_stopping=False heuristic,
// every running beam finishing at max_length).
#pragma once

#include "config.hpp"
#include "model.hpp"

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace troupe::whisper {

struct SearchOptions {
    int64_t num_beams = 1;
    int64_t max_new_tokens = 0;  // 0: up to max_target_positions
    double length_penalty = 1.0;
};

struct Hypothesis {
    std::vector<int64_t> tokens;  // generated ids after the prompt, without <|endoftext|>
    bool ended = false;           // stopped on <|endoftext|> (not on the length limit)
    double score = 0.0;           // beam search: the length-penalised score; greedy: 0
};

/// Called once per greedy step with the raw logits [B, vocab] (float32) before the processors.
using StepObserver = std::function<void(int64_t step, const at::Tensor& logits)>;

class Searcher {
public:
    Searcher(const WhisperForConditionalGeneration& model, const GenerationSettings& settings);

    /// One hypothesis per row of `encoder_out` [B, T, D].
    std::vector<Hypothesis> run(const at::Tensor& encoder_out, const std::vector<int64_t>& prompt,
                                const SearchOptions& options, const StepObserver& observer = {}) const;
    std::vector<Hypothesis> greedy(const at::Tensor& encoder_out, const std::vector<int64_t>& prompt,
                                   int64_t max_new, const StepObserver& observer = {}) const;
    std::vector<Hypothesis> beam(const at::Tensor& encoder_out, const std::vector<int64_t>& prompt, int64_t max_new,
                                 int64_t num_beams, double length_penalty) const;
    /// The processors on `scores` [N, vocab] in place: suppressed ids to −inf, and at the first step the
    /// begin-suppressed ones too.
    void process(at::Tensor& scores, bool first_step) const;
    /// max_new_tokens resolved against the model's max_target_positions.
    int64_t resolve_max_new(const SearchOptions& options, size_t prompt_len) const;

private:
    const WhisperForConditionalGeneration& model_;
    const GenerationSettings& settings_;
    at::Tensor suppress_, begin_suppress_;  // CPU long
};

}  // namespace troupe::whisper
