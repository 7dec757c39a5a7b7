// troupe/types.hpp — plain data passed between the host and plugins (no LibTorch, no toml++ types).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace troupe {

/// Flat parameters: keys are dotted paths ("model.dir", "voice.pitch"), values are strings.
/// Paths are already resolved to absolute paths by the host.
using Params = std::map<std::string, std::string>;

/// Sampling settings of a text request. `greedy` ignores temperature/top-k/top-p.
struct SamplingParams {
    bool greedy = false;
    float temperature = 0.8f;
    int top_k = 50;
    float top_p = 0.95f;
    float repetition_penalty = 1.1f;
    uint64_t seed = 0;
    int max_new_tokens = 128;
};

struct TextRequest {
    std::string prompt;                     // the full prompt text, template already applied
    std::string adapter;                    // name given to load_adapter(); empty = base model
    SamplingParams sampling;
    std::vector<std::string> stop_strings;  // e.g. "###"; EOS ids come from the model's configs
};

enum class StopReason { eos, stop_string, length, cancelled };
inline const char* to_string(StopReason reason) noexcept {
    switch (reason) {
        case StopReason::eos: return "eos";
        case StopReason::stop_string: return "stop";
        case StopReason::length: return "length";
        case StopReason::cancelled: return "cancelled";
    }
    return "unknown";
}

struct TextResult {
    std::string text;                // generated text, stop string excluded
    std::vector<int64_t> token_ids;  // generated ids
    StopReason stop = StopReason::length;
    int prompt_tokens = 0;
    double seconds = 0;              // wall time of the call
};

/// Mono PCM in [-1, 1].
struct Audio {
    int sample_rate = 0;
    std::vector<float> samples;
    double seconds() const { return sample_rate > 0 ? double(samples.size()) / sample_rate : 0.0; }
};

/// A voice: engine parameters plus optional reference audio with its transcript.
struct Voice {
    Params params;                  // engine-specific ("pitch", "rate", "variant", ...)
    std::string reference_audio;    // absolute path, may be empty
    std::string reference_text;
    std::vector<std::string> extra_references;
};

struct SpeechRequest {
    std::string text;
    std::string language = "ko";
    std::string emotion;            // empty = neutral
    Voice voice;
    uint64_t seed = 0;
};

/// Output of a quality estimator: a score and named sub-scores, with the method described.
struct QualityEstimate {
    double score = 0;
    std::map<std::string, double> details;
    std::string method;
};

}  // namespace troupe
