// sampler.hpp — next-token choice as transformers' generate does it: repetition penalty, then
// temperature, top-k, top-p, then a draw (or argmax when greedy). Deterministic for a seed on any
// device (the draw happens on the CPU with a seeded std::mt19937_64). With a Utf8Guard, ids that
// would break UTF-8 (see utf8_guard.hpp) are masked before any of it.
#pragma once

#include "utf8_guard.hpp"

#include <troupe/types.hpp>

#include <ATen/Tensor.h>

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace troupe::llama {

class Sampler {
public:
    /// `utf8` (optional, must outlive the sampler): keep the sampled ids valid UTF-8.
    explicit Sampler(const SamplingParams& params, const Utf8Guard* utf8 = nullptr);
    /// `logits`: float [vocab] (any device). `history`: ids seen so far (prompt + generated), used
    /// by the repetition penalty. `remaining`: tokens that may still be generated, this one
    /// included (a multi-byte character is only started when it can be finished). If the guard
    /// would mask every id, nothing is masked.
    int64_t next(const at::Tensor& logits, const std::vector<int64_t>& history,
                 int64_t remaining = std::numeric_limits<int64_t>::max());
    const SamplingParams& params() const { return params_; }
    /// The incomplete UTF-8 sequence of the ids returned so far (always empty without a guard).
    const Utf8Guard::State& utf8_state() const { return utf8_state_; }

private:
    int64_t choose(const at::Tensor& logits, const std::vector<int64_t>& history, int64_t remaining);
    SamplingParams params_;
    std::mt19937_64 rng_;
    const Utf8Guard* utf8_ = nullptr;
    Utf8Guard::State utf8_state_;
};

/// The processing steps on a CPU copy (exposed for tests): returns probabilities after penalty,
/// temperature, top-k and top-p (zeros for removed tokens).
std::vector<double> sampling_distribution(std::vector<float> logits, const std::vector<int64_t>& history,
                                          const SamplingParams& params);

}  // namespace troupe::llama
