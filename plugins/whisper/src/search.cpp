#include "search.hpp"

#include <troupe/plugin.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace troupe::whisper {
namespace {

at::Tensor ids_tensor(const std::vector<int64_t>& ids, int64_t vocab) {
    std::vector<int64_t> valid;
    for (int64_t id : ids)
        if (id >= 0 && id < vocab) valid.push_back(id);
    return at::tensor(valid, at::kLong);
}

void check_cancel() {
    if (plugin_cancel_requested()) throw Error(Errc::cancelled, "whisper: cancelled");
}

/// One input's beam state (host side).
struct BeamItem {
    std::vector<std::vector<int64_t>> running;  // num_beams generated sequences
    std::vector<float> running_scores;          // their summed log-probabilities
    std::vector<std::pair<float, std::vector<int64_t>>> finished;  // best first, at most num_beams
    std::vector<bool> finished_on_eos;
    bool open = true;  // transformers' is_early_stop_heuristic_unsatisfied
};

}  // namespace

Searcher::Searcher(const WhisperForConditionalGeneration& model, const GenerationSettings& settings)
    : model_(model), settings_(settings) {
    suppress_ = ids_tensor(settings.suppress_tokens, model.config().vocab_size);
    begin_suppress_ = ids_tensor(settings.begin_suppress_tokens, model.config().vocab_size);
}

void Searcher::process(at::Tensor& scores, bool first_step) const {
    const double ninf = -std::numeric_limits<double>::infinity();
    if (suppress_.numel()) scores.index_fill_(1, suppress_.to(scores.device()), ninf);
    if (first_step && begin_suppress_.numel()) scores.index_fill_(1, begin_suppress_.to(scores.device()), ninf);
}

int64_t Searcher::resolve_max_new(const SearchOptions& options, size_t prompt_len) const {
    const int64_t room = model_.config().max_target_positions - int64_t(prompt_len);
    if (room <= 0) throw Error(Errc::invalid_argument, "whisper: the decoder prompt fills max_target_positions");
    if (options.max_new_tokens <= 0) return room;
    if (options.max_new_tokens > room)
        throw Error(Errc::invalid_argument, fmt::format("whisper: max_new_tokens {} + prompt {} exceed max_target_positions {}",
                                                        options.max_new_tokens, prompt_len, model_.config().max_target_positions));
    return options.max_new_tokens;
}

std::vector<Hypothesis> Searcher::run(const at::Tensor& encoder_out, const std::vector<int64_t>& prompt,
                                      const SearchOptions& options, const StepObserver& observer) const {
    const int64_t max_new = resolve_max_new(options, prompt.size());
    if (options.num_beams <= 1) return greedy(encoder_out, prompt, max_new, observer);
    return beam(encoder_out, prompt, max_new, options.num_beams, options.length_penalty);
}

std::vector<Hypothesis> Searcher::greedy(const at::Tensor& encoder_out, const std::vector<int64_t>& prompt,
                                         int64_t max_new, const StepObserver& observer) const {
    c10::NoGradGuard no_grad;
    const int64_t B = encoder_out.size(0), eos = settings_.eos_token_id;
    DecoderCache cache = model_.start(encoder_out);
    at::Tensor input = at::tensor(prompt, at::kLong).unsqueeze(0).expand({B, int64_t(prompt.size())}).contiguous();
    std::vector<Hypothesis> out(static_cast<size_t>(B));
    std::vector<bool> done(size_t(B), false);
    for (int64_t step = 0; step < max_new; ++step) {
        check_cancel();
        at::Tensor logits = model_.decode(cache, input).select(1, -1).contiguous();  // [B, V]
        if (observer) observer(step, logits);
        process(logits, step == 0);
        const at::Tensor next = logits.argmax(-1).to(at::kCPU);
        const int64_t* n = next.data_ptr<int64_t>();
        std::vector<int64_t> feed(static_cast<size_t>(B));
        bool all_done = true;
        for (int64_t b = 0; b < B; ++b) {
            if (!done[size_t(b)]) {
                if (n[b] == eos) { done[size_t(b)] = true; out[size_t(b)].ended = true; }
                else out[size_t(b)].tokens.push_back(n[b]);
            }
            feed[size_t(b)] = done[size_t(b)] ? eos : n[b];
            all_done = all_done && done[size_t(b)];
        }
        if (all_done) break;
        input = at::tensor(feed, at::kLong).unsqueeze(1);
    }
    return out;
}

std::vector<Hypothesis> Searcher::beam(const at::Tensor& encoder_out, const std::vector<int64_t>& prompt, int64_t max_new,
                                       int64_t num_beams, double length_penalty) const {
    c10::NoGradGuard no_grad;
    const int64_t B = encoder_out.size(0), K = num_beams, V = model_.config().vocab_size, eos = settings_.eos_token_id;
    const int64_t P = int64_t(prompt.size()), max_length = P + max_new, keep = 2 * K;
    const float kNeg = -1.0e9f;
    DecoderCache cache = model_.start(encoder_out.repeat_interleave(K, 0));
    at::Tensor input = at::tensor(prompt, at::kLong).unsqueeze(0).expand({B * K, P}).contiguous();
    std::vector<BeamItem> items(static_cast<size_t>(B));
    for (BeamItem& it : items) {
        it.running.assign(size_t(K), {});
        it.running_scores.assign(size_t(K), kNeg);
        it.running_scores[0] = 0.0f;
    }
    for (int64_t cur_len = P;; ++cur_len) {
        check_cancel();
        at::Tensor logp = at::log_softmax(model_.decode(cache, input).select(1, -1), -1);  // [B*K, V] float32
        process(logp, cur_len == P);
        std::vector<float> running(static_cast<size_t>(B * K));
        for (int64_t b = 0; b < B; ++b)
            for (int64_t k = 0; k < K; ++k) running[size_t(b * K + k)] = items[size_t(b)].running_scores[size_t(k)];
        logp = logp + at::tensor(running, at::kFloat).to(logp.device()).view({B * K, 1});
        auto [vals_d, idx_d] = logp.view({B, K * V}).topk(keep, -1, true, true);
        const at::Tensor vals = vals_d.to(at::kCPU).contiguous(), idx = idx_d.to(at::kCPU).contiguous();
        const float* pv = vals.data_ptr<float>();
        const int64_t* pi = idx.data_ptr<int64_t>();

        std::vector<int64_t> rows(static_cast<size_t>(B * K)), feed(static_cast<size_t>(B * K));
        bool all_hit = true;
        const float denom = float(std::pow(double(cur_len + 1 - P), length_penalty));
        for (int64_t b = 0; b < B; ++b) {
            BeamItem& it = items[size_t(b)];
            std::vector<float> score(static_cast<size_t>(keep)), masked(static_cast<size_t>(keep));
            std::vector<int64_t> beam(static_cast<size_t>(keep)), token(static_cast<size_t>(keep));
            std::vector<bool> hit(static_cast<size_t>(keep));
            for (int64_t c = 0; c < keep; ++c) {
                score[size_t(c)] = pv[b * keep + c];
                beam[size_t(c)] = pi[b * keep + c] / V;
                token[size_t(c)] = pi[b * keep + c] % V;
                hit[size_t(c)] = token[size_t(c)] == eos || cur_len + 1 >= max_length;
                masked[size_t(c)] = score[size_t(c)] + (hit[size_t(c)] ? kNeg : 0.0f);
                all_hit = all_hit && hit[size_t(c)];
            }
            // Finished: among the top K candidates, those that hit a stop, while improvement is possible.
            if (it.open) {
                for (int64_t c = 0; c < K; ++c) {
                    if (!hit[size_t(c)]) continue;
                    std::vector<int64_t> seq = it.running[size_t(beam[size_t(c)])];
                    const bool on_eos = token[size_t(c)] == eos;
                    if (!on_eos) seq.push_back(token[size_t(c)]);
                    it.finished.emplace_back(score[size_t(c)] / denom, std::move(seq));
                    it.finished_on_eos.push_back(on_eos);
                }
                std::vector<size_t> order(it.finished.size());
                std::iota(order.begin(), order.end(), 0);
                std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return it.finished[x].first > it.finished[y].first; });
                if (order.size() > size_t(K)) order.resize(static_cast<size_t>(K));
                std::vector<std::pair<float, std::vector<int64_t>>> f;
                std::vector<bool> e;
                for (size_t o : order) { f.push_back(it.finished[o]); e.push_back(it.finished_on_eos[o]); }
                it.finished = std::move(f);
                it.finished_on_eos = std::move(e);
            }
            // Running: the best K candidates after pushing the finished ones down by 1e9.
            std::vector<size_t> order(static_cast<size_t>(keep));
            std::iota(order.begin(), order.end(), 0);
            std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return masked[x] > masked[y]; });
            std::vector<std::vector<int64_t>> next(static_cast<size_t>(K));
            for (int64_t k = 0; k < K; ++k) {
                const size_t c = order[size_t(k)];
                next[size_t(k)] = it.running[size_t(beam[c])];
                next[size_t(k)].push_back(token[c]);
                it.running_scores[size_t(k)] = masked[c];
                rows[size_t(b * K + k)] = b * K + beam[c];
                feed[size_t(b * K + k)] = token[c];
            }
            it.running = std::move(next);
        }
        // The early-stop heuristic (early_stopping=False): stop once the best running beam, scored at its
        // current length, cannot beat the worst of K finished hypotheses.
        bool any_open = false;
        const int64_t generated = cur_len + 1 - P;
        for (BeamItem& it : items) {
            if (it.open && int64_t(it.finished.size()) == K) {
                const float best = it.running_scores[0] / float(std::pow(double(generated), length_penalty));
                if (!(best > it.finished.back().first)) it.open = false;
            }
            any_open = any_open || it.open;
        }
        if (!any_open || all_hit) break;
        WhisperForConditionalGeneration::reorder(cache, at::tensor(rows, at::kLong));
        input = at::tensor(feed, at::kLong).unsqueeze(1);
    }
    std::vector<Hypothesis> out(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) {
        const BeamItem& it = items[size_t(b)];
        Hypothesis& h = out[size_t(b)];
        if (!it.finished.empty()) {
            h.tokens = it.finished[0].second;
            h.score = it.finished[0].first;
            h.ended = it.finished_on_eos[0];
        } else {
            h.tokens = it.running[0];
        }
        // A hypothesis grown from a beam that had already taken <|endoftext|> ends there (as the text does).
        auto e = std::find(h.tokens.begin(), h.tokens.end(), eos);
        if (e != h.tokens.end()) {
            h.tokens.erase(e, h.tokens.end());
            h.ended = true;
        }
    }
    return out;
}

}  // namespace troupe::whisper
