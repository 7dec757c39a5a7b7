#include "sampler.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace troupe::llama {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void apply_penalty(std::vector<float>& s, const std::vector<int64_t>& history, float penalty) {
    if (penalty == 1.0f) return;
    std::vector<char> seen(s.size(), 0);
    for (int64_t id : history)
        if (id >= 0 && id < static_cast<int64_t>(s.size()) && !seen[id]) {
            seen[id] = 1;
            s[id] = s[id] < 0 ? s[id] * penalty : s[id] / penalty;
        }
}
}  // namespace

Sampler::Sampler(const SamplingParams& params, const Utf8Guard* utf8)
    : params_(params), rng_(params.seed), utf8_(utf8 && utf8->active() ? utf8 : nullptr) {
    if (!(params.temperature > 0) && !params.greedy)
        throw Error(Errc::invalid_argument, fmt::format("temperature {} must be > 0", params.temperature));
    if (!(params.top_p > 0) || params.top_p > 1)
        throw Error(Errc::invalid_argument, fmt::format("top_p {} must be in (0, 1]", params.top_p));
    if (!(params.repetition_penalty > 0))
        throw Error(Errc::invalid_argument, fmt::format("repetition_penalty {} must be > 0", params.repetition_penalty));
}

std::vector<double> sampling_distribution(std::vector<float> s, const std::vector<int64_t>& history,
                                          const SamplingParams& p) {
    apply_penalty(s, history, p.repetition_penalty);
    for (float& v : s) v /= p.temperature;
    const size_t n = s.size();
    if (p.top_k > 0 && static_cast<size_t>(p.top_k) < n) {
        std::vector<float> tmp(s);
        std::nth_element(tmp.begin(), tmp.begin() + (p.top_k - 1), tmp.end(), std::greater<float>());
        const float kth = tmp[p.top_k - 1];
        for (float& v : s)
            if (v < kth) v = kNegInf;
    }
    if (p.top_p < 1.0f) {
        // transformers TopPLogitsWarper: sort ascending, drop the prefix whose cumulative
        // probability is <= 1 - top_p, always keep the most likely token.
        std::vector<size_t> order(n);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] < s[b]; });
        const float mx = s[order.back()];
        double total = 0;
        std::vector<double> e(n);
        for (size_t i = 0; i < n; ++i) total += (e[i] = std::exp(double(s[i]) - mx));
        double cum = 0;
        for (size_t r = 0; r + 1 < n; ++r) {
            cum += e[order[r]] / total;
            if (cum <= 1.0 - p.top_p) s[order[r]] = kNegInf;
        }
    }
    const float mx = *std::max_element(s.begin(), s.end());
    std::vector<double> probs(n);
    double total = 0;
    for (size_t i = 0; i < n; ++i) total += (probs[i] = s[i] == kNegInf ? 0.0 : std::exp(double(s[i]) - mx));
    for (double& v : probs) v /= total;
    return probs;
}

int64_t Sampler::next(const at::Tensor& logits, const std::vector<int64_t>& history, int64_t remaining) {
    const int64_t id = choose(logits, history, remaining);
    if (utf8_) utf8_->accept(utf8_state_, id);
    return id;
}

int64_t Sampler::choose(const at::Tensor& logits_in, const std::vector<int64_t>& history, int64_t remaining) {
    at::Tensor logits = logits_in.flatten();
    if (params_.greedy && params_.repetition_penalty == 1.0f) {
        // Fast path: the argmax on the device; the masked CPU path only when it is not allowed.
        const int64_t best = at::argmax(logits).item<int64_t>();
        if (!utf8_ || utf8_->allowed(utf8_state_, best, remaining)) return best;
    }
    at::Tensor cpu = logits.to(at::kCPU, at::kFloat).contiguous();
    std::vector<float> s(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
    if (utf8_) {
        std::vector<float> masked(s);
        utf8_->mask(utf8_state_, remaining, masked);
        if (std::any_of(masked.begin(), masked.end(), [](float v) { return v != kNegInf; })) s = std::move(masked);
    }
    if (params_.greedy) {
        apply_penalty(s, history, params_.repetition_penalty);
        return std::max_element(s.begin(), s.end()) - s.begin();
    }
    const std::vector<double> probs = sampling_distribution(std::move(s), history, params_);
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    double cum = 0;
    int64_t last = 0;
    for (size_t i = 0; i < probs.size(); ++i) {
        if (probs[i] <= 0) continue;
        last = static_cast<int64_t>(i);
        cum += probs[i];
        if (u < cum) return last;
    }
    return last;
}

}  // namespace troupe::llama
