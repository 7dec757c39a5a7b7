// model_prefill.cpp — the inference decoder layer Model::forward runs over a whole prompt (see
// fast_prefill() in model.hpp). Same math and rounding points as decoder_layer (transformers' eager
// Llama + PEFT's unmerged LoRA), fewer and larger kernels:
//   * q|k|v and gate|up: one GEMM over all rows per group (the weights share a buffer on CUDA; NF4 is
//     dequantized once per call into one scratch matrix by a CUDA kernel);
//   * each group's LoRA: the A matrices stacked into one skinny GEMM (x in the adapter's dtype), the
//     B side as one more skinny GEMM per pair or, on CUDA, one kernel for the group;
//   * RoPE + the KV-cache write in one kernel on CUDA; attention by SDPA on CUDA (causal flag when the
//     cache was empty), the explicit float32-softmax formula elsewhere.
#include "model.hpp"

#include "adapter.hpp"
#include "arch.hpp"
#include "fused_ops.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/version.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace troupe::llama {

namespace {

// false = the legacy layer code; true = the prefill path (the default, on the CPU and on CUDA: the
// llama conformance suite passes through it on both; TROUPE_PREFILL=legacy starts with it off).
std::atomic<bool>& prefill_setting() {
    static std::atomic<bool> v{[] {
        const char* e = std::getenv("TROUPE_PREFILL");
        return !(e && std::strcmp(e, "legacy") == 0);
    }()};
    return v;
}

const LoraWeights* lora_of(const Adapter* adapter, int64_t layer, arch::Proj p) {
    const LoraWeights* lw = adapter ? adapter->for_linear(layer * arch::kProjCount + static_cast<int>(p)) : nullptr;
    return lw && lw->defined() ? lw : nullptr;
}

at::Tensor rotate_half(const at::Tensor& x) {
    const int64_t half = x.size(-1) / 2;
    return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

/// The group's weights as one [Σ out, in] matrix in `dtype` without copying dense weights (a view when
/// they are row blocks of one buffer; NF4 dequantized on CUDA), or undefined when that is not possible.
at::Tensor group_weight(const std::vector<const Linear*>& ls, at::ScalarType dtype) {
    int64_t total = 0;
    bool nf4 = false, dense = false;
    for (const Linear* l : ls) {
        if (l->bias.defined() || l->in != ls[0]->in) return {};
        total += l->out;
        (l->nf4 ? nf4 : dense) = true;
    }
    const int64_t in = ls[0]->in;
    if (dense && !nf4) {
        const at::Tensor& w0 = ls[0]->weight;
        if (w0.scalar_type() != dtype) return {};
        if (ls.size() == 1) return w0;
        const at::Tensor* prev = &w0;
        for (size_t s = 0; s < ls.size(); ++s) {
            const at::Tensor& w = ls[s]->weight;
            if (!w.is_contiguous() || w.scalar_type() != dtype || !w.is_alias_of(w0)) return {};
            if (s > 0 && static_cast<const char*>(w.data_ptr()) !=
                             static_cast<const char*>(prev->data_ptr()) + prev->numel() * prev->element_size())
                return {};
            prev = &w;
        }
        return w0.as_strided({total, in}, {in, 1});
    }
    if (nf4 && !dense) {
        for (const Linear* l : ls)
            if (!nf4_dequantize_supported(*l, dtype)) return {};
        at::Tensor all = at::empty({total, in}, ls[0]->nf4->packed.options().dtype(dtype));
        int64_t row = 0;
        for (const Linear* l : ls) {
            at::Tensor block = all.narrow(0, row, l->out);
            nf4_dequantize_into(*l, block);
            row += l->out;
        }
        return all;
    }
    return {};
}

/// x [..., in] → [..., Σ out]: the group's linears with their LoRA pairs (null = none), as
/// Linear::forward computes each one.
at::Tensor linear_rows(const std::vector<const Linear*>& ls, const std::vector<const LoraWeights*>& loras,
                       const at::Tensor& x) {
    if (group_linear_supported(ls, loras, x)) return group_linear(ls, loras, x);  // one CUDA row: the GEMV
    const at::ScalarType dt = x.scalar_type();
    at::Tensor y;
    if (const at::Tensor w = group_weight(ls, dt); w.defined()) {
        y = at::linear(x, w);
    } else {
        std::vector<at::Tensor> parts;
        for (const Linear* l : ls) parts.push_back(at::linear(x, l->nf4 ? l->nf4->dequantize(dt) : l->weight, l->bias));
        y = parts.size() == 1 ? parts[0] : at::cat(parts, -1);
    }
    std::vector<at::Tensor> As;
    for (const LoraWeights* lw : loras)
        if (lw && lw->defined()) As.push_back(lw->A);
    if (As.empty()) return y;
    const at::ScalarType ad = As[0].scalar_type();
    for (const at::Tensor& a : As)
        if (a.scalar_type() != ad) {  // mixed adapter dtypes: one pair at a time, as Linear::forward
            std::vector<at::Tensor> parts;
            for (size_t s = 0; s < ls.size(); ++s) parts.push_back(ls[s]->forward(x, loras[s]));
            return parts.size() == 1 ? parts[0] : at::cat(parts, -1);
        }
    // t = x · [A_0; A_1; …]ᵀ in the adapter's dtype (PEFT casts x to it): one kernel on CUDA.
    const at::Tensor t = lora_shrink_rows_supported(loras, x)
                             ? lora_shrink_rows(loras, x)
                             : at::linear(x.scalar_type() == ad ? x : x.to(ad), As.size() == 1 ? As[0] : at::cat(As, 0));
    if (lora_expand_rows_supported(ls, loras, t, y)) {
        lora_expand_rows(ls, loras, t, y);
        return y;
    }
    // y + scaling · t_s · B_sᵀ per segment, summed in the adapter's dtype, then cast back.
    at::Tensor ya = y.scalar_type() == ad ? y : y.to(ad);
    const int64_t total = ya.size(-1);
    at::Tensor y2 = ya.view({-1, total});
    const at::Tensor t2 = t.reshape({-1, t.size(-1)});
    int64_t col = 0, tcol = 0;
    for (size_t s = 0; s < ls.size(); ++s) {
        if (const LoraWeights* lw = loras[s]; lw && lw->defined()) {
            const int64_t r = lw->A.size(0);
            at::Tensor block = y2.narrow(1, col, ls[s]->out);
            block.addmm_(t2.narrow(1, tcol, r), lw->B.t(), 1.0, lw->scaling);
            tcol += r;
        }
        col += ls[s]->out;
    }
    return ya.scalar_type() == dt ? ya : ya.to(dt);
}

}  // namespace

bool fast_prefill() { return prefill_setting().load(); }
void set_fast_prefill(bool on) { prefill_setting().store(on); }

at::Tensor Model::prefill_layer(int64_t index, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin,
                                const at::Tensor& mask, const Adapter* adapter, KVCache* cache) const {
    using P = arch::Proj;
    const LlamaConfig& c = config_;
    const Layer& L = layers_.at(index);
    const int64_t B = h.size(0), T = h.size(1), D = c.head_dim, H = c.num_heads, KV = c.num_kv_heads;
    auto lora = [&](P p) { return lora_of(adapter, index, p); };

    const at::Tensor qkv = linear_rows({&L.proj[0], &L.proj[1], &L.proj[2]}, {lora(P::q), lora(P::k), lora(P::v)},
                                       rms_norm(h, L.input_norm));
    const int64_t past = cache ? cache->length : 0;
    if (cache) cache->reserve(past + T);
    at::Tensor q, k, v;
    if (cache && rope_rows_supported(qkv, cos, cache->k[index], cache->v[index], D)) {
        q = rope_rows(qkv, cos, sin, cache->k[index], cache->v[index], past, H, D);
    } else {
        q = qkv.narrow(-1, 0, H * D).view({B, T, H, D}).transpose(1, 2);
        k = qkv.narrow(-1, H * D, KV * D).view({B, T, KV, D}).transpose(1, 2);
        v = qkv.narrow(-1, (H + KV) * D, KV * D).view({B, T, KV, D}).transpose(1, 2);
        q = q * cos + rotate_half(q) * sin;
        k = k * cos + rotate_half(k) * sin;
        if (cache) {
            cache->k[index].narrow(2, past, T).copy_(k);
            cache->v[index].narrow(2, past, T).copy_(v);
        }
    }
    if (cache) {
        k = cache->k[index].narrow(2, 0, past + T);
        v = cache->v[index].narrow(2, 0, past + T);
    }
    const int64_t S = k.size(2), rep = H / KV;
    if (rep > 1) {
        k = k.unsqueeze(2).expand({B, KV, rep, S, D}).reshape({B, H, S, D});
        v = v.unsqueeze(2).expand({B, KV, rep, S, D}).reshape({B, H, S, D});
    }
    at::Tensor attn;
#if TORCH_VERSION_MAJOR >= 2
    if (h.is_cuda()) {
        if (past == 0) {  // keys = the queries' own positions: the causal flag is the mask
            attn = at::scaled_dot_product_attention(q, k, v, c10::optional<at::Tensor>(), 0.0, T > 1);
        } else {
            c10::optional<at::Tensor> bool_mask;
            if (mask.defined()) bool_mask = mask.eq(0);
            attn = at::scaled_dot_product_attention(q, k, v, bool_mask, 0.0, false);
        }
    }
#endif
    if (!attn.defined()) {
        at::Tensor scores = at::matmul(q, k.transpose(2, 3)) * (1.0 / std::sqrt(static_cast<double>(D)));
        if (mask.defined()) scores = scores + mask;
        attn = at::matmul(at::softmax(scores, -1, at::kFloat).to(q.scalar_type()), v);
    }
    const at::Tensor out =
        h + linear_rows({&L.proj[3]}, {lora(P::o)}, attn.transpose(1, 2).contiguous().reshape({B, T, H * D}));
    const at::Tensor gate_up = linear_rows({&L.proj[4], &L.proj[5]}, {lora(P::gate), lora(P::up)},
                                           rms_norm(out, L.post_attention_norm));
    const int64_t I = c.intermediate_size;
    const at::Tensor act = silu_mul_supported(gate_up)
                               ? silu_mul(gate_up)
                               : at::silu(gate_up.narrow(-1, 0, I)) * gate_up.narrow(-1, I, I);
    return out + linear_rows({&L.proj[6]}, {lora(P::down)}, act);
}

}  // namespace troupe::llama
