// s1/sampler.hpp — upstream's token sampler (AR/models/utils.py logits_to_probs +
// multinomial_sample_one_no_sync), in its exact order:
//   1. repetition penalty at every previous id (prompt included): s < 0 ? s·p : s/p, written back
//      IN PLACE into the caller's logits (duplicates penalised once);
//   2. top-p on the penalised, un-tempered logits when top_p < 1 (sorted descending, cumulative
//      softmax, drop entries whose cumulative probability > top_p, always keep the first; no shift);
//   3. divide by max(temperature, 1e-5);
//   4. top-k: keep logits >= the k-th largest (ties kept);
//   5. softmax; the sample is argmax(probs / q) with q ~ Exp(1) (an exponential race).
#pragma once

#include <ATen/Tensor.h>
#include <ATen/core/Generator.h>

#include <cstdint>
#include <functional>
#include <optional>

namespace troupe::sovits::s1 {

struct SamplingParams {
    std::optional<int64_t> top_k = 15;  // nullopt = no top-k
    double top_p = 1.0;                 // >= 1 = no top-p
    double temperature = 1.0;
    double repetition_penalty = 1.35;   // 1 = none
};

/// logits (B, V) float, modified in place by the penalty (as upstream); previous (B, P) int64 ids
/// < V, or undefined/empty. Returns probabilities (B, V).
at::Tensor logits_to_probs(at::Tensor& logits, const at::Tensor& previous, const SamplingParams& params);

/// argmax(probs / exp_noise) per row → (B, 1) int64. exp_noise: (B, V) positive draws of Exp(1).
at::Tensor sample_with_noise(const at::Tensor& probs, const at::Tensor& exp_noise);

/// As upstream: draws the Exp(1) noise from `gen` (default generator if undefined).
at::Tensor sample(const at::Tensor& probs, c10::optional<at::Generator> gen = {});

/// A source of Exp(1) noise shaped like the probabilities it is given, drawn on the CPU from its own
/// generator seeded with `seed` and moved to their device and dtype, so a seed gives the same tokens
/// on every device (the engine's noise: one source per decode, or per batch row).
std::function<at::Tensor(const at::Tensor& probs)> seeded_cpu_noise(uint64_t seed);

}  // namespace troupe::sovits::s1
