// sampler.hpp — next-token choice as transformers' generate does it: repetition penalty, then
// temperature, top-k, top-p, then a draw (or argmax when greedy). Deterministic for a seed on any
// device (the draw happens on the CPU with a seeded std::mt19937_64).
#pragma once

#include <troupe/types.hpp>

#include <ATen/Tensor.h>

#include <cstdint>
#include <random>
#include <vector>

namespace troupe::llama {

class Sampler {
public:
    explicit Sampler(const SamplingParams& params);
    /// `logits`: float [vocab] (any device). `history`: ids seen so far (prompt + generated), used
    /// by the repetition penalty.
    int64_t next(const at::Tensor& logits, const std::vector<int64_t>& history);
    const SamplingParams& params() const { return params_; }

private:
    SamplingParams params_;
    std::mt19937_64 rng_;
};

/// The processing steps on a CPU copy (exposed for tests): returns probabilities after penalty,
/// temperature, top-k and top-p (zeros for removed tokens).
std::vector<double> sampling_distribution(std::vector<float> logits, const std::vector<int64_t>& history,
                                          const SamplingParams& params);

}  // namespace troupe::llama
