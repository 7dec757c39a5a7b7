// generator.hpp — prompt ids → continuation: KV-cached decoding with a Sampler, stops on every EOS
// id of the model's configs, on stop strings (e.g. "###"), on max tokens or cancellation, and
// streams whole UTF-8 characters through a callback (text that might begin a stop string is held
// back until it is known not to).
#pragma once

#include "model.hpp"

#include <troupe/types.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::llama {

class Adapter;
class DecodeSession;
class Utf8Guard;

/// Incremental detokenizer: push(id) returns the text that became complete (whole UTF-8
/// characters); flush() returns what is left at the end.
class TokenDecoder {
public:
    virtual ~TokenDecoder() = default;
    virtual std::string push(int64_t id) = 0;
    virtual std::string flush() = 0;
};

struct GenerateOptions {
    SamplingParams sampling;
    std::vector<std::string> stop_strings;
    std::vector<int64_t> eos_ids;  // empty = the model's (config.json + generation_config.json)
    bool use_cache = true;         // false recomputes the whole sequence each step (reference check)
    /// Static-cache decoding (CUDA graphs where available) for `adapter` with room for the prompt and
    /// max_new_tokens; null = one is made per call on CUDA, the growing cache is used elsewhere.
    DecodeSession* session = nullptr;
    /// Keep the generated text valid UTF-8 (mask byte-fallback ids that would break it, see
    /// utf8_guard.hpp); null = sample from every id. Must outlive the call.
    const Utf8Guard* utf8 = nullptr;
};

struct Generation {
    std::vector<int64_t> ids;      // generated ids (an EOS id that stopped generation is included)
    std::string text;              // decoded text, without EOS and without the stop string
    StopReason stop = StopReason::length;
    int64_t prompt_tokens = 0;
    double prefill_seconds = 0, decode_seconds = 0;
};

/// Returns false to cancel.
using StreamFn = std::function<bool(const std::string& piece)>;

Generation generate(const Model& model, const std::vector<int64_t>& prompt, const Adapter* adapter,
                    const GenerateOptions& options, TokenDecoder* decoder = nullptr, const StreamFn& stream = {},
                    const std::function<bool()>& cancelled = {});

/// One sequence of generate_batch(): its prompt, its adapter (null = base model; loaded on the same
/// model), its options (`session` and `use_cache` are ignored) and its own decoder (or null).
struct BatchRow {
    std::vector<int64_t> prompt;
    const Adapter* adapter = nullptr;
    GenerateOptions options;
    TokenDecoder* decoder = nullptr;
};

/// Decodes several sequences together, each with its own adapter, sampling and stops: every
/// prompt is prefilled into its own row of one static KV cache, then each step runs all live rows
/// at once (Model::decode_rows: per-row positions, gathered LoRA). Rows finish independently
/// (EOS, stop string, max tokens) and leave the batch. Returns one Generation per row, each as
/// generate() would give it (same ids for greedy decoding; logits agree to float rounding);
/// prefill/decode seconds are the batch's.
std::vector<Generation> generate_batch(const Model& model, const std::vector<BatchRow>& rows,
                                       const std::function<bool()>& cancelled = {});

}  // namespace troupe::llama
