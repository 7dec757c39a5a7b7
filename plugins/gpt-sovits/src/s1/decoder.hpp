// s1/decoder.hpp — autoregressive semantic-token generation with the S1 GPT, as upstream's
// Text2SemanticDecoder.infer_panel (infer_panel_naive), batch 1:
//   step 0: prefill over [text | prompt codes] with the prefill mask, caching K/V;
//   then the token produced at step idx, embedded at audio position T_prompt + idx, one position
//     per step with attention over the whole cache and no mask;
//   steps idx < min_steps (11) slice the logits to the first vocab-1 columns (no EOS);
//   sampling (s1/sampler.hpp) with the repetition penalty over prompt + generated tokens;
//   stop when argmax(penalised logits) == EOS or the sample == EOS (the EOS is dropped), when more
//   than early_stop_num tokens were generated (the last token is kept), or at step max_steps - 1.
// The steps after the prefill run as static-shape steps (s1/decode_graph.hpp, CUDA graphs) unless
// DecodeOptions::static_decode is off; sampling and the stop rules are the same either way.
#pragma once

#include "s1/model.hpp"
#include "s1/sampler.hpp"

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::sovits::s1 {

struct DecodeOptions {
    SamplingParams sampling;
    int64_t early_stop_num = -1;  // -1 = none; upstream passes 50 * max_sec (2700)
    int64_t max_steps = 1500;     // hard cap of upstream's loop
    int64_t min_steps = 11;       // EOS impossible before this step
    c10::optional<at::Generator> generator;
    /// Optional: supplies the Exp(1) noise of a step (shape of the probabilities) instead of the
    /// generator (tests, reproducible runs across implementations).
    std::function<at::Tensor(int64_t step, const at::Tensor& probs)> noise;
    /// Optional (infer_panel_batch only; takes precedence over `noise`): the noise of one row,
    /// `row` its index in the caller's list, `probs` (1, V') its probabilities. Gives every row the
    /// draws a one-row decode of it would get (e.g. one seeded generator per row), whichever other
    /// rows are still running.
    std::function<at::Tensor(int64_t row, int64_t step, const at::Tensor& probs)> row_noise;
    bool record_logits = false;   // keep every step's raw logits (before slicing and penalty)
    /// The steps after the prefill (infer_panel and infer_panel_batch) use s1/decode_graph.hpp (K/V
    /// preallocated for the whole decode, static shapes, one CUDA-graph replay per token where
    /// available, eager elsewhere); false: the growing KV cache with one position more per step
    /// (and, batched, rows leaving the cache as they finish).
    bool static_decode = true;
    /// Optional (infer_panel only): called with every generated token as soon as it is known
    /// (EOS excluded; the step's host transfer already happened, so this adds no device sync).
    /// Returning false stops the decode as an EOS would (streaming synthesis, cancellation).
    std::function<bool(int64_t token)> on_token;
};

/// Upstream's WebUI/API defaults: top_k 15, top_p 1, temperature 1, repetition_penalty 1.35,
/// early_stop_num = 50 * data.max_sec of the checkpoint's config.
DecodeOptions default_decode_options(const S1Config& config);

enum class StopReason { eos, early_stop_num, max_steps };
const char* to_string(StopReason r);

struct DecodeResult {
    at::Tensor y;                  // (1, T_prompt + G): prompt codes then generated tokens
    int64_t idx = 0;               // what upstream returns with y (0 in reference-free mode)
    at::Tensor generated;          // (1, G)
    at::Tensor kept;               // what the WebUI passes to S2: y[:, -idx:] (all of y when idx == 0)
    StopReason stop = StopReason::eos;
    int64_t steps = 0;             // loop iterations
    std::vector<int64_t> step_tokens;       // the sample of every step (EOS included)
    std::vector<int64_t> eos_blocked_steps; // steps < min_steps where EOS was the penalised argmax
    at::Tensor step_logits;        // (steps, vocab) raw logits, when record_logits
};

/// phone_ids (1, N) int64; bert (1, bert_dim, N) or undefined (zeros); prompt (1, T) int64 or
/// undefined/empty (reference-free mode). Runs under no-grad on the model's device.
DecodeResult infer_panel(Text2SemanticDecoderImpl& model, const at::Tensor& phone_ids, const at::Tensor& bert,
                         const at::Tensor& prompt, const DecodeOptions& options);

/// One row of a batched decode: what upstream's infer_panel_batch_infer returns for it.
struct BatchRowResult {
    at::Tensor y;           // (1, T_prompt + G): prompt codes then this row's tokens
    int64_t idx = 0;        // the step at which the row finished
    at::Tensor kept;        // y[:, -idx:] (what TTS.py passes to S2)
    StopReason stop = StopReason::eos;
};

/// Upstream's batched decode ("parallel_infer", Text2SemanticDecoder.infer_panel_batch_infer):
/// every row's text is embedded with its own positions from 0, then left-padded with zero vectors
/// to the longest row; pad columns are masked for every query; all rows share `prompt` (1, T > 0).
/// Rows finish independently when they produce EOS. Unlike infer_panel, an early stop (or the step
/// cap) drops the last token of the rows still running, as upstream does.
/// With options.static_decode (the default) every row stays in one static-shape batch
/// (s1/decode_graph.hpp: left padding puts every row's prompt and generated tokens at the same cache
/// positions; the pad columns are masked per row; finished rows are fed token 0 and ignored).
/// Either way sampling sees only the rows still running, in row order: `noise` is called with
/// their probabilities (b_running, V) and the generator draws for them only, so both paths give
/// the same tokens for the same noise callback or generator state. Without static_decode finished
/// rows leave the batch and the KV cache (upstream's behaviour, shapes shrinking).
std::vector<BatchRowResult> infer_panel_batch(Text2SemanticDecoderImpl& model, const std::vector<at::Tensor>& phone_ids,
                                              const std::vector<at::Tensor>& bert, const at::Tensor& prompt,
                                              const DecodeOptions& options);

}  // namespace troupe::sovits::s1
