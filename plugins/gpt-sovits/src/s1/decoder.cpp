#include "s1/decoder.hpp"

#include "s1/decode_graph.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <algorithm>
#include <fmt/format.h>
#include <torch/autograd.h>

#include <utility>

namespace troupe::sovits::s1 {

const char* to_string(StopReason r) {
    switch (r) {
        case StopReason::eos: return "eos";
        case StopReason::early_stop_num: return "early_stop_num";
        case StopReason::max_steps: return "max_steps";
    }
    return "?";
}

DecodeOptions default_decode_options(const S1Config& config) {
    DecodeOptions o;
    o.sampling.top_k = 15;
    o.sampling.top_p = 1.0;
    o.sampling.temperature = 1.0;
    o.sampling.repetition_penalty = 1.35;
    o.early_stop_num = config.early_stop_num();
    return o;
}

DecodeResult infer_panel(Text2SemanticDecoderImpl& model, const at::Tensor& phone_ids, const at::Tensor& bert,
                         const at::Tensor& prompt, const DecodeOptions& opt) {
    torch::NoGradGuard no_grad;
    const S1Config& cfg = model.config();
    if (phone_ids.dim() != 2 || phone_ids.size(0) != 1 || phone_ids.size(1) == 0)
        throw Error(Errc::invalid_argument, "S1: phone ids must be (1, N) with N > 0");
    if (opt.max_steps <= 0) throw Error(Errc::invalid_argument, "S1: max_steps must be positive");
    const auto device = model.parameters().front().device();
    const at::Tensor ids = phone_ids.to(device, at::kLong);
    if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() >= cfg.phoneme_vocab_size)
        throw Error(Errc::invalid_argument, fmt::format("S1: phone id outside [0, {})", cfg.phoneme_vocab_size));
    const bool ref_free = !prompt.defined() || prompt.numel() == 0;
    at::Tensor y = ref_free ? at::zeros({1, 0}, at::TensorOptions().dtype(at::kLong).device(device))
                            : prompt.to(device, at::kLong).reshape({1, -1});
    if (!ref_free && (y.min().item<int64_t>() < 0 || y.max().item<int64_t>() >= cfg.eos))
        throw Error(Errc::invalid_argument, fmt::format("S1: prompt code outside [0, {})", cfg.eos));
    const int64_t prefix_len = y.size(1);

    const at::Tensor x = model.embed_text(ids, bert.defined() ? bert.to(device) : bert);
    const int64_t x_len = x.size(1);
    at::Tensor xy_pos = ref_free ? x : at::cat({x, model.embed_audio(y, 0)}, 1);
    at::Tensor mask = Text2SemanticDecoderImpl::prefill_mask(x_len, prefix_len, device);

    DecodeResult r;
    KVCache cache;
    cache.reserve = std::min<int64_t>(opt.max_steps, 512);  // decode steps before the first regrowth
    // Static steps: capacity for the prefill and every step after it (the loop ends after
    // min(max_steps, early_stop_num + 1) steps).
    std::shared_ptr<DecodeGraph> graph;
    if (opt.static_decode) {
        int64_t steps = opt.max_steps;
        if (opt.early_stop_num >= 0) steps = std::min(steps, opt.early_stop_num + 1);
        graph = DecodeGraph::acquire(model, DecodeGraph::round_capacity(x_len + prefix_len + steps - 1));
    }
    std::vector<at::Tensor> recorded;
    int64_t idx = 0;
    for (;; ++idx) {
        at::Tensor full;  // (1, V) float32
        if (graph && idx > 0) {
            full = graph->step(y.slice(1, y.size(1) - 1), prefix_len + idx - 1, x_len + prefix_len + idx - 1);
        } else {
            const at::Tensor h = graph ? graph->prefill(xy_pos, mask) : model.transform(xy_pos, mask, &cache);
            full = model.predict(h.select(1, h.size(1) - 1)).to(at::kFloat);
        }
        mask = at::Tensor();
        if (opt.record_logits) recorded.push_back(full.clone());
        at::Tensor logits = idx < opt.min_steps ? full.slice(1, 0, cfg.vocab_size - 1) : full;
        const at::Tensor probs = logits_to_probs(logits, y, opt.sampling);  // penalises `logits` in place
        const at::Tensor token = opt.noise ? sample_with_noise(probs, opt.noise(idx, probs)) : sample(probs, opt.generator);
        y = at::cat({y, token.to(at::kLong)}, 1);
        // One device→host transfer per step: the sample, the penalised argmax and, while EOS is
        // blocked, the argmax over all columns (for eos_blocked_steps).
        const at::Tensor host = at::stack({token.reshape({}).to(at::kLong), at::argmax(logits, -1).reshape({}),
                                           at::argmax(full, -1).reshape({})})
                                    .to(at::kCPU);
        const int64_t* h3 = host.data_ptr<int64_t>();
        const int64_t tok = h3[0], penalised_argmax = h3[1], full_argmax = h3[2];
        if (idx < opt.min_steps && full_argmax == cfg.eos) r.eos_blocked_steps.push_back(idx);
        r.step_tokens.push_back(tok);

        bool stop = false;
        if (opt.early_stop_num != -1 && y.size(1) - prefix_len > opt.early_stop_num) {
            stop = true;
            r.stop = StopReason::early_stop_num;
        }
        if (penalised_argmax == cfg.eos || tok == cfg.eos) {
            stop = true;
            r.stop = StopReason::eos;
            y = y.slice(1, 0, y.size(1) - 1);
        }
        const bool eos_stop = stop && r.stop == StopReason::eos;
        if (!eos_stop && opt.on_token && !opt.on_token(tok) && !stop) {  // the caller stops the decode
            stop = true;
            r.stop = StopReason::eos;
        }
        if (idx == opt.max_steps - 1 && !stop) {
            stop = true;
            r.stop = StopReason::max_steps;
        }
        if (stop) {
            if (y.size(1) == 0) y = at::cat({y, at::zeros_like(token)}, 1);  // upstream's "bad zero prediction"
            break;
        }
        if (!graph) xy_pos = model.embed_audio(y.slice(1, y.size(1) - 1), prefix_len + idx);
    }
    r.steps = idx + 1;
    r.y = y;
    r.idx = ref_free ? 0 : idx;
    r.generated = y.slice(1, prefix_len);
    r.kept = r.idx == 0 ? y : y.slice(1, y.size(1) - r.idx);
    if (opt.record_logits) r.step_logits = at::cat(recorded, 0);
    return r;
}

namespace {

// The left-padded prefill of a batched decode (upstream's infer_panel_batch_infer).
struct BatchPrefill {
    at::Tensor xy_pos;   // (B, src, d): every row's text (own positions from 0) left-padded, then the prompt
    at::Tensor mask;     // (B, src, src) bool, true = blocked: the prefill mask plus the pad columns
    at::Tensor key_pad;  // (B, src) bool: the pad columns
    at::Tensor y;        // (B, T): the prompt in every row
    int64_t src = 0;
};

BatchPrefill batch_prefill(Text2SemanticDecoderImpl& model, const std::vector<at::Tensor>& phone_ids,
                           const std::vector<at::Tensor>& bert, const at::Tensor& prompt) {
    const S1Config& cfg = model.config();
    const int64_t B = int64_t(phone_ids.size());
    const auto device = model.parameters().front().device();
    at::Tensor p = prompt.to(device, at::kLong).reshape({1, -1});
    if (p.min().item<int64_t>() < 0 || p.max().item<int64_t>() >= cfg.eos)
        throw Error(Errc::invalid_argument, fmt::format("S1: prompt code outside [0, {})", cfg.eos));
    // Text rows: own positions from 0, then left-padded with zero vectors.
    std::vector<at::Tensor> xs;
    int64_t max_len = 0;
    for (int64_t i = 0; i < B; ++i) {
        const at::Tensor& ids = phone_ids[size_t(i)];
        if (!ids.defined() || ids.dim() != 2 || ids.size(0) != 1 || ids.size(1) == 0)
            throw Error(Errc::invalid_argument, "S1 batch: phone ids must be (1, N) with N > 0");
        const at::Tensor d = ids.to(device, at::kLong);
        if (d.min().item<int64_t>() < 0 || d.max().item<int64_t>() >= cfg.phoneme_vocab_size)
            throw Error(Errc::invalid_argument, fmt::format("S1: phone id outside [0, {})", cfg.phoneme_vocab_size));
        const at::Tensor b = bert.empty() || !bert[size_t(i)].defined() ? at::Tensor() : bert[size_t(i)].to(device);
        xs.push_back(model.embed_text(d, b));
        max_len = std::max(max_len, ids.size(1));
    }
    const auto bool_opts = at::TensorOptions().dtype(at::kBool).device(device);
    at::Tensor pad_mask = at::zeros({B, max_len}, bool_opts);
    for (int64_t i = 0; i < B; ++i) {
        const int64_t pad = max_len - xs[size_t(i)].size(1);
        if (pad > 0) {
            xs[size_t(i)] = at::cat({at::zeros({1, pad, xs[size_t(i)].size(2)}, xs[size_t(i)].options()), xs[size_t(i)]}, 1);
            pad_mask[i].slice(0, 0, pad).fill_(true);
        }
    }
    BatchPrefill out;
    out.y = p.expand({B, p.size(1)}).contiguous();
    const int64_t prefix_len = out.y.size(1);
    out.xy_pos = at::cat({at::cat(xs, 0), model.embed_audio(out.y, 0)}, 1);
    out.src = max_len + prefix_len;
    out.key_pad = at::cat({pad_mask, at::zeros({B, prefix_len}, bool_opts)}, 1);
    const int64_t src = out.src;
    out.mask = Text2SemanticDecoderImpl::prefill_mask(max_len, prefix_len, device).unsqueeze(0).expand({B, src, src});
    out.mask = out.mask.logical_or(out.key_pad.unsqueeze(1));
    return out;
}

// What upstream returns for a row that finished at step idx: y (with this step's token, the EOS
// or the token an early stop drops, as its last column) less that last column.
void finish_row(BatchRowResult& r, const at::Tensor& y_row, int64_t idx, StopReason why) {
    r.y = y_row.slice(0, 0, y_row.size(0) - 1).unsqueeze(0);
    r.idx = idx;
    r.kept = idx == 0 ? r.y : r.y.slice(1, r.y.size(1) - idx);
    r.stop = why;
}

// One step's sampling for the rows still running: `full` (b, V) float32 raw logits, `y` (b, len)
// their tokens so far, `rows` their indices in the caller's list. Returns the samples (b, 1) and (on
// the host) whether each row stops with EOS.
std::pair<at::Tensor, std::vector<bool>> sample_rows(const S1Config& cfg, const at::Tensor& full, const at::Tensor& y,
                                                     const std::vector<int64_t>& rows, int64_t idx,
                                                     const DecodeOptions& opt) {
    at::Tensor logits = idx < opt.min_steps ? full.slice(1, 0, cfg.vocab_size - 1) : full;
    const at::Tensor probs = logits_to_probs(logits, y, opt.sampling);  // penalises `logits` in place
    at::Tensor samples;
    if (opt.row_noise) {
        std::vector<at::Tensor> noise;
        for (size_t pos = 0; pos < rows.size(); ++pos)
            noise.push_back(opt.row_noise(rows[pos], idx, probs.slice(0, int64_t(pos), int64_t(pos) + 1)));
        samples = sample_with_noise(probs, at::cat(noise, 0));
    } else {
        samples = opt.noise ? sample_with_noise(probs, opt.noise(idx, probs)) : sample(probs, opt.generator);
    }
    const at::Tensor finished =
        at::logical_or(samples.select(1, 0) == cfg.eos, at::argmax(logits, -1) == cfg.eos).to(at::kCPU).contiguous();
    std::vector<bool> stop(size_t(finished.size(0)));
    for (int64_t i = 0; i < finished.size(0); ++i) stop[size_t(i)] = finished.data_ptr<bool>()[i];
    return {samples.to(at::kLong), stop};
}

// The eager batched decode: rows leave the batch (and the KV cache) when they finish.
void decode_batch_eager(Text2SemanticDecoderImpl& model, BatchPrefill pre, const DecodeOptions& opt,
                        std::vector<BatchRowResult>& out) {
    const auto device = pre.y.device();
    const int64_t prefix_len = pre.y.size(1);
    at::Tensor y = pre.y, xy_pos = pre.xy_pos, mask = pre.mask;
    std::vector<int64_t> row_of;  // batch position → original row
    for (int64_t i = 0; i < y.size(0); ++i) row_of.push_back(i);
    KVCache cache;
    cache.reserve = std::min<int64_t>(opt.max_steps, 512);
    for (int64_t idx = 0; idx < opt.max_steps; ++idx) {
        const at::Tensor h = model.transform(xy_pos, mask, &cache);
        const at::Tensor full = model.predict(h.select(1, h.size(1) - 1)).to(at::kFloat);  // (b, V)
        mask = idx == 0 ? at::constant_pad_nd(mask.slice(1, pre.src - 1, pre.src), {0, 1}, 0)
                        : at::constant_pad_nd(mask, {0, 1}, 0);
        const auto [samples, finished] = sample_rows(model.config(), full, y, row_of, idx, opt);
        y = at::cat({y, samples}, 1);
        std::vector<int64_t> keep;
        for (int64_t pos = 0; pos < y.size(0); ++pos) {
            if (finished[size_t(pos)]) finish_row(out[size_t(row_of[size_t(pos)])], y[pos], idx, StopReason::eos);
            else keep.push_back(pos);
        }
        if (int64_t(keep.size()) != y.size(0)) {
            const at::Tensor rows = at::tensor(keep, at::TensorOptions().dtype(at::kLong)).to(device);
            y = y.index_select(0, rows);
            mask = mask.index_select(0, rows);
            cache.select_rows(rows);
            std::vector<int64_t> next;
            for (int64_t pos : keep) next.push_back(row_of[size_t(pos)]);
            row_of = next;
        }
        const bool early = opt.early_stop_num != -1 && y.size(1) - prefix_len > opt.early_stop_num;
        if (early || idx == opt.max_steps - 1) {
            for (int64_t pos = 0; pos < y.size(0); ++pos)
                finish_row(out[size_t(row_of[size_t(pos)])], y[pos], idx,
                           early ? StopReason::early_stop_num : StopReason::max_steps);
            break;
        }
        if (y.size(0) == 0) break;
        xy_pos = model.embed_audio(y.slice(1, y.size(1) - 1), prefix_len + idx);
    }
}

// The static batched decode (s1/decode_graph.hpp): every row stays in the batch; the finished ones
// are fed token 0 and their logits ignored. Sampling sees only the running rows, in their order,
// exactly as in the eager path (the same noise callback arguments, the same generator draws).
void decode_batch_static(Text2SemanticDecoderImpl& model, BatchPrefill pre, const DecodeOptions& opt,
                         std::vector<BatchRowResult>& out) {
    const auto device = pre.y.device();
    const int64_t B = pre.y.size(0), prefix_len = pre.y.size(1);
    int64_t steps = opt.max_steps;  // the loop ends after min(max_steps, early_stop_num + 1) steps
    if (opt.early_stop_num >= 0) steps = std::min(steps, opt.early_stop_num + 1);
    const auto graph = DecodeGraph::acquire(model, DecodeGraph::round_capacity(pre.src + steps - 1), B);
    at::Tensor y = pre.y;
    std::vector<int64_t> running;  // rows still decoding, ascending
    for (int64_t i = 0; i < B; ++i) running.push_back(i);
    at::Tensor running_rows;  // `running` on the device, while some rows have finished
    for (int64_t idx = 0; idx < opt.max_steps; ++idx) {
        at::Tensor full;  // (B, V) float32
        if (idx == 0) {
            const at::Tensor h = graph->prefill(pre.xy_pos, pre.mask, pre.key_pad);
            full = model.predict(h.select(1, h.size(1) - 1)).to(at::kFloat);
        } else {
            full = graph->step(y.slice(1, y.size(1) - 1), prefix_len + idx - 1, pre.src + idx - 1);
        }
        const bool all = int64_t(running.size()) == B;
        const auto [samples, finished] = all ? sample_rows(model.config(), full, y, running, idx, opt)
                                             : sample_rows(model.config(), full.index_select(0, running_rows),
                                                           y.index_select(0, running_rows), running, idx, opt);
        y = at::cat({y, all ? samples : at::zeros({B, 1}, samples.options()).index_copy_(0, running_rows, samples)}, 1);
        std::vector<int64_t> keep;
        for (size_t pos = 0; pos < running.size(); ++pos) {
            if (finished[pos]) finish_row(out[size_t(running[pos])], y[running[pos]], idx, StopReason::eos);
            else keep.push_back(running[pos]);
        }
        const bool early = opt.early_stop_num != -1 && y.size(1) - prefix_len > opt.early_stop_num;
        if (early || idx == opt.max_steps - 1) {
            for (int64_t row : keep)
                finish_row(out[size_t(row)], y[row], idx, early ? StopReason::early_stop_num : StopReason::max_steps);
            break;
        }
        if (keep.empty()) break;
        if (keep.size() != running.size()) {
            running = keep;
            running_rows = at::tensor(running, at::TensorOptions().dtype(at::kLong)).to(device);
        }
    }
}

}  // namespace

std::vector<BatchRowResult> infer_panel_batch(Text2SemanticDecoderImpl& model, const std::vector<at::Tensor>& phone_ids,
                                              const std::vector<at::Tensor>& bert, const at::Tensor& prompt,
                                              const DecodeOptions& opt) {
    torch::NoGradGuard no_grad;
    const int64_t B = int64_t(phone_ids.size());
    if (B == 0) return {};
    if (!bert.empty() && int64_t(bert.size()) != B)
        throw Error(Errc::invalid_argument, "S1 batch: one BERT tensor (or none) per row");
    if (!prompt.defined() || prompt.numel() == 0)
        throw Error(Errc::invalid_argument, "S1 batch: reference-free mode needs infer_panel (upstream falls back too)");
    if (opt.max_steps <= 0) throw Error(Errc::invalid_argument, "S1: max_steps must be positive");
    std::vector<BatchRowResult> out(static_cast<size_t>(B));
    BatchPrefill pre = batch_prefill(model, phone_ids, bert, prompt);
    if (opt.static_decode) decode_batch_static(model, std::move(pre), opt, out);
    else decode_batch_eager(model, std::move(pre), opt, out);
    return out;
}

}  // namespace troupe::sovits::s1
