#include "train/s1_loss.hpp"

#include "s1/model.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace troupe::sovits::train {

at::Tensor s1_attention_blocked(const at::Tensor& x_lens, int64_t N, const at::Tensor& y_lens, int64_t T, bool fix_text) {
    const auto dev = x_lens.device();
    const at::Tensor pos_x = at::arange(N, at::TensorOptions().dtype(at::kLong).device(dev)).unsqueeze(0);
    const at::Tensor pos_y = at::arange(T, at::TensorOptions().dtype(at::kLong).device(dev)).unsqueeze(0);
    // make_pad_mask_left: position − (N − len) < 0; make_pad_mask: position ≥ len.
    const at::Tensor x_mask = fix_text ? pos_x >= x_lens.unsqueeze(1) : (pos_x - (N - x_lens).unsqueeze(1)) < 0;
    const at::Tensor y_mask = pos_y >= y_lens.unsqueeze(1);
    const at::Tensor pad = at::cat({x_mask, y_mask}, 1);  // (B, L)
    const at::Tensor causal = s1::Text2SemanticDecoderImpl::prefill_mask(N, T, dev);  // (L, L)
    return causal.unsqueeze(0).logical_or(pad.unsqueeze(1));
}

S1LossOutput s1_loss(s1::Text2SemanticDecoderImpl& model, const S1Batch& b, const S1LossOptions& o) {
    const auto& cfg = model.config();
    const int64_t B = b.phoneme_ids.size(0), N = b.phoneme_ids.size(1), T = b.semantic_ids.size(1);
    if (b.semantic_ids.size(0) != B || N == 0 || T == 0)
        throw Error(Errc::invalid_argument, "S1 loss: empty batch or mismatched phoneme/semantic batch sizes");
    const int64_t eos = cfg.eos;
    const at::Tensor y_lens = b.semantic_ids_len;
    const at::Tensor pos_y = at::arange(T, at::TensorOptions().dtype(at::kLong).device(y_lens.device())).unsqueeze(0);
    const at::Tensor y_mask_int = (pos_y >= y_lens.unsqueeze(1)).to(at::kLong);
    const at::Tensor codes = b.semantic_ids.to(at::kLong) * (1 - y_mask_int);
    S1LossOutput out;
    out.targets = at::constant_pad_nd(codes, {0, 1}, 0) + eos * at::constant_pad_nd(y_mask_int, {0, 1}, 1);
    const at::Tensor y_in = out.targets.slice(1, 0, T);

    const at::Tensor x = model.embed_text(b.phoneme_ids, b.bert_feature);
    const at::Tensor y = model.embed_audio(y_in, 0);
    out.attn_blocked = s1_attention_blocked(b.phoneme_ids_len, N, y_lens, T, o.fix_text_padding_mask);
    const at::Tensor h = model.transform(at::cat({x, y}, 1), out.attn_blocked);
    const at::Tensor logits = model.predict(h.slice(1, N - 1)).to(at::kFloat);  // (B, T+1, V)
    const int64_t V = logits.size(2);

    const at::Tensor logp = at::log_softmax(logits, -1);
    out.loss = at::nll_loss(logp.reshape({-1, V}), out.targets.reshape({-1}), {}, at::Reduction::Sum);
    out.ce_per_position = -logp.detach().gather(-1, out.targets.unsqueeze(-1)).squeeze(-1);
    out.logits = logits.detach();
    const at::Tensor top = std::get<1>(out.logits.topk(std::min<int64_t>(o.top_k, V), -1));
    out.top_hit = (top == out.targets.unsqueeze(-1)).any(-1);
    const at::Tensor valid = out.targets != eos;
    const int64_t n_valid = valid.sum().item<int64_t>();
    const int64_t hits = out.top_hit.logical_and(valid).sum().item<int64_t>();
    // torchmetrics divides in float32; so do we, so the logged value is the same float.
    out.accuracy = n_valid > 0 ? double(float(hits) / float(n_valid)) : 0.0;
    return out;
}

}  // namespace troupe::sovits::train
