#include "fused_ops.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#ifdef TROUPE_FUSED_CUDA
#include "fused_ops_kernels.cuh"

#include <ATen/cuda/CUDAContext.h>
#endif

namespace troupe::llama {

namespace {
// A kernel choice: `fallback`, or `chosen` when the environment variable `var` equals `value` (read once).
int env_choice(const char* var, const char* value, int chosen, int fallback) {
    const char* e = std::getenv(var);
    return e && std::strcmp(e, value) == 0 ? chosen : fallback;
}
std::atomic<int>& gemv_setting() {
    static std::atomic<int> v{env_choice("TROUPE_GEMV", "1", 1, env_choice("TROUPE_GEMV", "2", 2, 0))};
    return v;
}
std::atomic<int>& attention_setting() {
    static std::atomic<int> v{env_choice("TROUPE_DECODE_ATTENTION", "vec", 2, 1)};
    return v;
}
}  // namespace

int gemv_version() { return gemv_setting().load(); }
void set_gemv_version(int version) {
    if (version < 0 || version > 2)
        throw Error(Errc::invalid_argument, "set_gemv_version: the GEMV kernel version is 0 (auto), 1 or 2");
    gemv_setting().store(version);
}
int gemv_version_for(bool nf4) {
    const int v = gemv_version();
    return v != 0 ? v : nf4 ? 1 : 2;
}
int decode_attention_version() { return attention_setting().load(); }
void set_decode_attention_version(int version) {
    if (version != 1 && version != 2)
        throw Error(Errc::invalid_argument, "set_decode_attention_version: the attention kernel version is 1 or 2");
    attention_setting().store(version);
}

#ifdef TROUPE_FUSED_CUDA

namespace {

int dtype_code(at::ScalarType t) {
    switch (t) {
    case at::kFloat: return 0;
    case at::kHalf: return 1;
    case at::kBFloat16: return 2;
    default: return -1;
    }
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

bool usable(const at::Tensor& t, const at::Tensor& like) {
    return t.defined() && t.is_cuda() && t.is_contiguous() && t.device() == like.device();
}

}  // namespace

bool group_linear_supported(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                            const at::Tensor& x) {
    if (linears.empty() || linears.size() > cuda::kMaxGroup || loras.size() != linears.size()) return false;
    if (!x.is_cuda() || !x.is_contiguous() || dtype_code(x.scalar_type()) < 0 || !aligned16(x.data_ptr())) return false;
    const int64_t in = linears[0]->in;
    if (x.numel() != in || x.size(-1) != in || in % 32 != 0) return false;
    const bool nf4 = linears[0]->nf4 != nullptr;
    int64_t r = -1;
    for (size_t s = 0; s < linears.size(); ++s) {
        const Linear& l = *linears[s];
        if (l.in != in || l.bias.defined() || (l.nf4 != nullptr) != nf4) return false;
        if (nf4) {
            if (!usable(l.nf4->packed, x) || !aligned16(l.nf4->packed.data_ptr()) || !usable(l.nf4_scales, x) ||
                l.nf4->blocksize % 32 != 0 || (l.nf4->blocksize & (l.nf4->blocksize - 1)) != 0 ||
                l.nf4->blocksize != linears[0]->nf4->blocksize ||
                !l.nf4->quant_map.is_cuda())
                return false;
        } else if (!usable(l.weight, x) || l.weight.scalar_type() != x.scalar_type() || !aligned16(l.weight.data_ptr())) {
            return false;
        }
        if (const LoraWeights* lw = loras[s]; lw && lw->defined()) {
            if (!usable(lw->A, x) || !usable(lw->B, x) || lw->A.scalar_type() != at::kFloat ||
                lw->B.scalar_type() != at::kFloat || lw->A.size(1) != in || lw->B.size(0) != l.out)
                return false;
            if (r >= 0 && lw->A.size(0) != r) return false;
            r = lw->A.size(0);
            if (r > 64 || lw->B.size(1) != r) return false;
        }
    }
    return true;
}

at::Tensor group_linear(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                        const at::Tensor& x) {
    if (!group_linear_supported(linears, loras, x)) throw Error(Errc::runtime, "group_linear: unsupported input");
    cuda::GemvGroup g;
    cuda::LoraGroup lg;
    g.count = static_cast<int>(linears.size());
    g.nf4 = linears[0]->nf4 != nullptr;
    int64_t total = 0;
    for (int s = 0; s < g.count; ++s) {
        const Linear& l = *linears[s];
        g.rows[s] = l.out;
        total += l.out;
        if (g.nf4) {
            g.weight[s] = l.nf4->packed.data_ptr();
            g.scales[s] = l.nf4_scales.data_ptr<float>();
            g.codebook = l.nf4->quant_map.data_ptr<float>();
            g.blocksize = l.nf4->blocksize;
        } else {
            g.weight[s] = l.weight.data_ptr();
        }
        if (const LoraWeights* lw = loras[s]; lw && lw->defined()) {
            lg.A[s] = lw->A.data_ptr<float>();
            lg.B[s] = lw->B.data_ptr<float>();
            lg.scaling[s] = static_cast<float>(lw->scaling);
            lg.r = lw->A.size(0);
        }
    }
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = total;
    at::Tensor y = at::empty(shape, x.options());
    const int dtype = dtype_code(x.scalar_type());
    const auto stream = at::cuda::getCurrentCUDAStream();
    if (gemv_version_for(g.nf4) == cuda::kGemvV2) {
        at::Tensor t;
        if (lg.r > 0) t = at::empty({cuda::kMaxGroup * lg.r}, x.options().dtype(at::kFloat));
        cuda::group_linear_v2(g, lg, x.data_ptr(), y.data_ptr(), lg.r > 0 ? t.data_ptr<float>() : nullptr,
                              linears[0]->in, dtype, stream);
        return y;
    }
    cuda::group_gemv(g, x.data_ptr(), y.data_ptr(), linears[0]->in, dtype, stream);
    if (lg.r > 0) {
        at::Tensor t = at::empty({cuda::kMaxGroup * lg.r}, x.options().dtype(at::kFloat));
        cuda::group_lora(g, lg, x.data_ptr(), y.data_ptr(), t.data_ptr<float>(), linears[0]->in, dtype, stream);
    }
    return y;
}

bool rms_norm_supported(const at::Tensor& x, const at::Tensor& weight) {
    return x.is_cuda() && x.dim() >= 1 && x.is_contiguous() && weight.is_contiguous() &&
           weight.scalar_type() == x.scalar_type() && weight.numel() == x.size(-1) && dtype_code(x.scalar_type()) >= 0;
}

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
    if (!rms_norm_supported(x, weight)) throw Error(Errc::runtime, "rms_norm: unsupported input");
    at::Tensor out = at::empty_like(x);
    const int64_t n = x.size(-1);
    cuda::rms_norm(x.data_ptr(), weight.data_ptr(), out.data_ptr(), x.numel() / n, n, static_cast<float>(eps),
                   dtype_code(x.scalar_type()), at::cuda::getCurrentCUDAStream());
    return out;
}

bool decode_attention_supported(const at::Tensor& qkv, const at::Tensor& k_cache, int64_t head_dim) {
    return qkv.is_cuda() && qkv.is_contiguous() && k_cache.is_cuda() && k_cache.is_contiguous() && k_cache.dim() == 4 &&
           k_cache.size(0) == 1 && k_cache.size(3) == head_dim && k_cache.scalar_type() == qkv.scalar_type() &&
           dtype_code(qkv.scalar_type()) >= 0 && head_dim % 2 == 0 && head_dim <= 256 && k_cache.size(2) <= 8192;
}

at::Tensor rope_into_cache(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin,
                           const at::Tensor& position, at::Tensor& k_cache, at::Tensor& v_cache, int64_t q_heads,
                           int64_t head_dim) {
    const at::Tensor c = cos.contiguous(), s = sin.contiguous();
    if (!decode_attention_supported(qkv, k_cache, head_dim) || c.numel() != head_dim || s.numel() != head_dim ||
        c.scalar_type() != qkv.scalar_type() || position.scalar_type() != at::kLong || !position.is_cuda())
        throw Error(Errc::runtime, "rope_into_cache: unsupported input");
    at::Tensor q = at::empty({1, 1, q_heads * head_dim}, qkv.options());
    cuda::rope_into_cache(qkv.data_ptr(), c.data_ptr(), s.data_ptr(), position.data_ptr<int64_t>(), q.data_ptr(),
                          k_cache.data_ptr(), v_cache.data_ptr(), q_heads, k_cache.size(1), head_dim, k_cache.size(2),
                          dtype_code(qkv.scalar_type()), at::cuda::getCurrentCUDAStream());
    return q;
}

at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                            const at::Tensor& position, int64_t q_heads, int64_t head_dim, double scale) {
    if (!decode_attention_supported(q, k_cache, head_dim)) throw Error(Errc::runtime, "decode_attention: unsupported input");
    at::Tensor out = at::empty({1, 1, q_heads * head_dim}, q.options());
    const int64_t lanes = head_dim * q.element_size() / 16;  // per key in version 2
    const bool v2 = decode_attention_version() == 2 && head_dim * q.element_size() % 16 == 0 && lanes <= 32 &&
                    (lanes & (lanes - 1)) == 0 && aligned16(q.data_ptr()) && aligned16(k_cache.data_ptr()) &&
                    aligned16(v_cache.data_ptr());
    cuda::decode_attention(q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(), position.data_ptr<int64_t>(),
                           out.data_ptr(), q_heads, k_cache.size(1), head_dim, k_cache.size(2),
                           static_cast<float>(scale), dtype_code(q.scalar_type()), at::cuda::getCurrentCUDAStream(),
                           v2 ? cuda::kAttentionV2 : cuda::kAttentionV1);
    return out;
}

bool silu_mul_supported(const at::Tensor& gate_up) {
    return gate_up.is_cuda() && gate_up.is_contiguous() && gate_up.dim() >= 1 && gate_up.size(-1) >= 2 &&
           gate_up.size(-1) % 2 == 0 && dtype_code(gate_up.scalar_type()) >= 0;
}

at::Tensor silu_mul(const at::Tensor& gate_up) {
    const int64_t n = gate_up.size(-1) / 2;
    if (!gate_up.is_cuda() || !gate_up.is_contiguous() || n < 1 || gate_up.size(-1) != 2 * n ||
        dtype_code(gate_up.scalar_type()) < 0)
        throw Error(Errc::runtime, "silu_mul: unsupported input");
    std::vector<int64_t> shape = gate_up.sizes().vec();
    shape.back() = n;
    at::Tensor out = at::empty(shape, gate_up.options());
    cuda::silu_mul(gate_up.data_ptr(), out.data_ptr(), n, dtype_code(gate_up.scalar_type()),
                   at::cuda::getCurrentCUDAStream(), gate_up.numel() / (2 * n));
    return out;
}

bool nf4_dequantize_supported(const Linear& l, at::ScalarType dtype) {
    if (!l.nf4 || dtype_code(dtype) < 0) return false;
    const Nf4Weight& w = *l.nf4;
    return w.packed.is_cuda() && w.packed.is_contiguous() && aligned16(w.packed.data_ptr()) &&
           l.nf4_scales.defined() && l.nf4_scales.is_cuda() && l.nf4_scales.is_contiguous() &&
           l.nf4_scales.scalar_type() == at::kFloat && w.quant_map.is_cuda() && w.quant_map.numel() == 16 &&
           w.quant_map.scalar_type() == at::kFloat && w.blocksize % 32 == 0 && w.numel() % 32 == 0 &&
           w.numel() == l.out * l.in;
}

void nf4_dequantize_into(const Linear& l, at::Tensor& out) {
    if (!nf4_dequantize_supported(l, out.scalar_type()) || !out.is_cuda() || !out.is_contiguous() ||
        out.numel() != l.out * l.in || !aligned16(out.data_ptr()))
        throw Error(Errc::runtime, "nf4_dequantize_into: unsupported input");
    cuda::nf4_dequantize(l.nf4->packed.data_ptr(), l.nf4_scales.data_ptr<float>(), l.nf4->quant_map.data_ptr<float>(),
                         out.data_ptr(), out.numel(), l.nf4->blocksize, dtype_code(out.scalar_type()),
                         at::cuda::getCurrentCUDAStream());
}

bool lora_shrink_rows_supported(const std::vector<const LoraWeights*>& loras, const at::Tensor& x) {
    if (loras.empty() || loras.size() > cuda::kMaxGroup || !x.is_cuda() || !x.is_contiguous() || x.dim() < 1 ||
        dtype_code(x.scalar_type()) < 0 || x.numel() == 0)
        return false;
    int64_t r = -1;
    for (const LoraWeights* lw : loras) {
        if (!lw || !lw->defined()) continue;
        if (!usable(lw->A, x) || lw->A.scalar_type() != at::kFloat || lw->A.dim() != 2 || lw->A.size(1) != x.size(-1))
            return false;
        if (r >= 0 && lw->A.size(0) != r) return false;
        r = lw->A.size(0);
    }
    return r > 0 && r <= 64 && x.numel() / x.size(-1) <= 65535 * 8;
}

at::Tensor lora_shrink_rows(const std::vector<const LoraWeights*>& loras, const at::Tensor& x) {
    if (!lora_shrink_rows_supported(loras, x)) throw Error(Errc::runtime, "lora_shrink_rows: unsupported input");
    cuda::LoraGroup lg;
    int64_t n = 0;
    for (size_t s = 0; s < loras.size(); ++s)
        if (const LoraWeights* lw = loras[s]; lw && lw->defined()) {
            lg.A[s] = lw->A.data_ptr<float>();
            lg.r = lw->A.size(0);
            ++n;
        }
    std::vector<int64_t> shape = x.sizes().vec();
    shape.back() = n * lg.r;
    at::Tensor t = at::empty(shape, x.options().dtype(at::kFloat));
    cuda::lora_shrink_rows(lg, static_cast<int>(loras.size()), x.data_ptr(), t.data_ptr<float>(), x.numel() / x.size(-1),
                           x.size(-1), dtype_code(x.scalar_type()), at::cuda::getCurrentCUDAStream());
    return t;
}

bool lora_expand_rows_supported(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                                const at::Tensor& t, const at::Tensor& y) {
    if (linears.empty() || linears.size() > cuda::kMaxGroup || loras.size() != linears.size()) return false;
    if (!y.is_cuda() || !y.is_contiguous() || dtype_code(y.scalar_type()) < 0) return false;
    if (!usable(t, y) || t.scalar_type() != at::kFloat) return false;
    int64_t total = 0, r = -1, nl = 0;
    for (size_t s = 0; s < linears.size(); ++s) {
        total += linears[s]->out;
        const LoraWeights* lw = loras[s];
        if (!lw || !lw->defined()) continue;
        if (!usable(lw->B, y) || lw->B.scalar_type() != at::kFloat || lw->B.size(0) != linears[s]->out) return false;
        if (r >= 0 && lw->B.size(1) != r) return false;
        r = lw->B.size(1);
        ++nl;
    }
    return r > 0 && r <= 64 && y.size(-1) == total && t.size(-1) == nl * r && t.numel() / t.size(-1) == y.numel() / total;
}

void lora_expand_rows(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                      const at::Tensor& t, at::Tensor& y) {
    if (!lora_expand_rows_supported(linears, loras, t, y)) throw Error(Errc::runtime, "lora_expand_rows: unsupported input");
    cuda::GemvGroup g;
    cuda::LoraGroup lg;
    g.count = static_cast<int>(linears.size());
    int64_t offsets[cuda::kMaxGroup] = {};
    int64_t next = 0;
    for (int s = 0; s < g.count; ++s) {
        g.rows[s] = linears[s]->out;
        if (const LoraWeights* lw = loras[s]; lw && lw->defined()) {
            lg.B[s] = lw->B.data_ptr<float>();
            lg.scaling[s] = static_cast<float>(lw->scaling);
            lg.r = lw->B.size(1);
            offsets[s] = next;
            next += lg.r;
        }
    }
    cuda::lora_expand_rows(g, lg, offsets, t.data_ptr<float>(), t.size(-1), y.data_ptr(), y.numel() / y.size(-1),
                           dtype_code(y.scalar_type()), at::cuda::getCurrentCUDAStream());
}

bool rope_rows_supported(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& k_cache,
                         const at::Tensor& v_cache, int64_t head_dim) {
    return qkv.is_cuda() && qkv.is_contiguous() && qkv.dim() == 3 && dtype_code(qkv.scalar_type()) >= 0 &&
           usable(cos, qkv) && cos.scalar_type() == qkv.scalar_type() && cos.dim() == 2 &&
           cos.size(0) == qkv.size(1) && cos.size(1) == head_dim && usable(k_cache, qkv) && usable(v_cache, qkv) &&
           k_cache.dim() == 4 && k_cache.sizes() == v_cache.sizes() && k_cache.scalar_type() == qkv.scalar_type() &&
           v_cache.scalar_type() == qkv.scalar_type() && k_cache.size(0) == qkv.size(0) && k_cache.size(3) == head_dim &&
           head_dim % 2 == 0 && qkv.size(0) * qkv.size(1) <= 65535;  // grid.y
}

at::Tensor rope_rows(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin, at::Tensor& k_cache,
                     at::Tensor& v_cache, int64_t past, int64_t q_heads, int64_t head_dim) {
    const at::Tensor s = sin.contiguous();
    const int64_t B = qkv.size(0), T = qkv.size(1), kv = k_cache.size(1);
    if (!rope_rows_supported(qkv, cos, k_cache, v_cache, head_dim) || s.sizes() != cos.sizes() ||
        qkv.size(2) != (q_heads + 2 * kv) * head_dim || past < 0 || past + T > k_cache.size(2))
        throw Error(Errc::runtime, "rope_rows: unsupported input");
    at::Tensor q = at::empty({B, q_heads, T, head_dim}, qkv.options());
    cuda::rope_rows(qkv.data_ptr(), cos.data_ptr(), s.data_ptr(), q.data_ptr(), k_cache.data_ptr(), v_cache.data_ptr(),
                    B, T, past, q_heads, kv, head_dim, k_cache.size(2), dtype_code(qkv.scalar_type()),
                    at::cuda::getCurrentCUDAStream());
    return q;
}

#else

namespace {
[[noreturn]] void no_kernels(const char* what) {
    throw Error(Errc::unsupported, std::string(what) + ": this build has no CUDA kernels");
}
}  // namespace

bool group_linear_supported(const std::vector<const Linear*>&, const std::vector<const LoraWeights*>&,
                            const at::Tensor&) {
    return false;
}
at::Tensor group_linear(const std::vector<const Linear*>&, const std::vector<const LoraWeights*>&, const at::Tensor&) {
    no_kernels("group_linear");
}
bool rms_norm_supported(const at::Tensor&, const at::Tensor&) { return false; }
at::Tensor rms_norm(const at::Tensor&, const at::Tensor&, double) { no_kernels("rms_norm"); }
bool decode_attention_supported(const at::Tensor&, const at::Tensor&, int64_t) { return false; }
at::Tensor rope_into_cache(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, at::Tensor&,
                           at::Tensor&, int64_t, int64_t) {
    no_kernels("rope_into_cache");
}
at::Tensor decode_attention(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t,
                            int64_t, double) {
    no_kernels("decode_attention");
}
bool silu_mul_supported(const at::Tensor&) { return false; }
at::Tensor silu_mul(const at::Tensor&) { no_kernels("silu_mul"); }
bool nf4_dequantize_supported(const Linear&, at::ScalarType) { return false; }
void nf4_dequantize_into(const Linear&, at::Tensor&) { no_kernels("nf4_dequantize_into"); }
bool lora_shrink_rows_supported(const std::vector<const LoraWeights*>&, const at::Tensor&) { return false; }
at::Tensor lora_shrink_rows(const std::vector<const LoraWeights*>&, const at::Tensor&) {
    no_kernels("lora_shrink_rows");
}
bool lora_expand_rows_supported(const std::vector<const Linear*>&, const std::vector<const LoraWeights*>&,
                                const at::Tensor&, const at::Tensor&) {
    return false;
}
void lora_expand_rows(const std::vector<const Linear*>&, const std::vector<const LoraWeights*>&, const at::Tensor&,
                      at::Tensor&) {
    no_kernels("lora_expand_rows");
}
bool rope_rows_supported(const at::Tensor&, const at::Tensor&, const at::Tensor&, const at::Tensor&, int64_t) {
    return false;
}
at::Tensor rope_rows(const at::Tensor&, const at::Tensor&, const at::Tensor&, at::Tensor&, at::Tensor&, int64_t, int64_t,
                     int64_t) {
    no_kernels("rope_rows");
}

#endif

}  // namespace troupe::llama
