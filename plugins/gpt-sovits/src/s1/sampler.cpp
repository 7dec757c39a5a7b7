#include "s1/sampler.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <memory>

namespace troupe::sovits::s1 {

at::Tensor logits_to_probs(at::Tensor& logits, const at::Tensor& previous, const SamplingParams& p) {
    if (logits.dim() != 2) throw Error(Errc::invalid_argument, "S1 sampler: logits must be (batch, vocab)");
    const double inf = std::numeric_limits<double>::infinity();
    if (previous.defined() && previous.numel() > 0 && p.repetition_penalty != 1.0) {
        const at::Tensor prev = previous.to(at::kLong);
        const at::Tensor score = at::gather(logits, 1, prev);
        const at::Tensor penalised = at::where(score < 0, score * p.repetition_penalty, score / p.repetition_penalty);
        logits.scatter_(1, prev, penalised);
    }
    at::Tensor x = logits;
    if (p.top_p < 1.0) {
        const auto sorted = at::sort(x, -1, /*descending=*/true);
        const at::Tensor& sorted_logits = std::get<0>(sorted);
        const at::Tensor& sorted_indices = std::get<1>(sorted);
        const at::Tensor cum = at::cumsum(at::softmax(sorted_logits, -1), -1);
        at::Tensor remove_sorted = cum > p.top_p;
        remove_sorted.select(1, 0).fill_(false);
        const at::Tensor remove = remove_sorted.scatter(1, sorted_indices, remove_sorted);
        x = x.masked_fill(remove, -inf);
    }
    x = x / std::max(p.temperature, 1e-5);
    if (p.top_k) {
        const int64_t k = std::min<int64_t>(*p.top_k, x.size(-1));
        if (k <= 0) throw Error(Errc::invalid_argument, "S1 sampler: top_k must be positive");
        const at::Tensor pivot = std::get<0>(at::topk(x, k, -1)).select(1, k - 1).unsqueeze(-1);
        x = at::where(x < pivot, at::full({}, -inf, x.options()), x);
    }
    return at::softmax(x, -1);
}

at::Tensor sample_with_noise(const at::Tensor& probs, const at::Tensor& exp_noise) {
    return at::argmax(probs / exp_noise, -1, /*keepdim=*/true).to(at::kLong);
}

at::Tensor sample(const at::Tensor& probs, c10::optional<at::Generator> gen) {
    at::Tensor q = at::empty_like(probs).exponential_(1.0, gen);
    return sample_with_noise(probs, q);
}

std::function<at::Tensor(const at::Tensor& probs)> seeded_cpu_noise(uint64_t seed) {
    auto gen = std::make_shared<at::Generator>(at::make_generator<at::CPUGeneratorImpl>(seed));
    return [gen](const at::Tensor& probs) {
        return at::empty(probs.sizes(), at::kFloat).exponential_(1.0, *gen).to(probs.device(), probs.scalar_type());
    };
}

}  // namespace troupe::sovits::s1
