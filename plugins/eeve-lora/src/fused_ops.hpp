// fused_ops.hpp — CUDA kernels for one-token decoding (CUDA builds only; elsewhere every
// *_supported() is false and callers use plain ATen ops). A decode step is thousands of tiny kernels,
// so their count, not the FLOPs, sets its speed; these cut a layer from ≈ 80 kernels to 19:
//   group_linear      y = [W_q; W_k; W_v] x (or gate|up, or one matrix) in one launch, dense or
//                     straight from NF4 codes (the 4-bit weight is read once, never dequantized into
//                     memory), plus each matrix's LoRA pair (float32, as PEFT) in two more;
//   rms_norm          transformers' LlamaRMSNorm (float32 statistics, weight applied in the input dtype);
//   rope_into_cache   RoPE of q and k, k and v written into the static KV cache at the device position;
//   decode_attention  scores, float32 softmax and the weighted sum over the cached positions;
//   silu_mul          silu(gate) · up.
// Every kernel rounds where the ATen formula it replaces rounds; tests compare them.
#pragma once

#include "model.hpp"

#include <ATen/Tensor.h>

#include <vector>

namespace troupe::llama {

/// The batch-1 GEMV kernels group_linear runs: 1 = a warp per output row, the LoRA pair in two more
/// launches; 2 = several rows per warp, pair-table NF4 decode, the LoRA expand in the epilogue;
/// 0 = auto (the default): version 2 for dense weights, version 1 for NF4, the faster one for each
/// kind at EEVE size on an H200 (docs/benchmarks.md). Both pass the kernel tests and the CUDA
/// conformance suite. The environment variable TROUPE_GEMV=1|2 forces one version from the start;
/// a CUDA graph keeps the kernels it captured.
int gemv_version();  // the setting: 0 (auto), 1 or 2
void set_gemv_version(int version);
/// The version group_linear runs for a group of dense (nf4 = false) or NF4 weights.
int gemv_version_for(bool nf4);

/// The kernel decode_attention runs: 1 (the default) = one warp per key in element loads; 2 = a key
/// spread over d/8 lanes in 16-byte loads (d/4 in float32), two keys per round, where the head size
/// allows (otherwise version 1). Version 2 passes the kernel test's build but has not run on a GPU
/// yet, so it is opt-in: TROUPE_DECODE_ATTENTION=vec chooses it from the start.
int decode_attention_version();
void set_decode_attention_version(int version);

/// True when 1–3 bias-free linears of one kind (all dense in x's dtype, or all NF4 with nf4_scales)
/// reading the same `in` can take x (one CUDA row) and their LoRA pairs (null = none; float32, r ≤ 64).
bool group_linear_supported(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                            const at::Tensor& x);
/// x's shape with the last dimension = Σ out, in x's dtype.
at::Tensor group_linear(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                        const at::Tensor& x);

/// True for a contiguous CUDA x [..., n] (float32/bf16/f16) and weight [n] of the same dtype.
bool rms_norm_supported(const at::Tensor& x, const at::Tensor& weight);
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// The attention half of a decode step over a static cache ([1, kv_heads, capacity, head_dim]):
/// supported for contiguous CUDA tensors of one dtype, an even head_dim ≤ 256 and capacity ≤ 8192.
bool decode_attention_supported(const at::Tensor& qkv, const at::Tensor& k_cache, int64_t head_dim);
/// qkv = [q | k | v] of one position → rotated q (k rotated and v written into the caches at `position`).
at::Tensor rope_into_cache(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin,
                           const at::Tensor& position, at::Tensor& k_cache, at::Tensor& v_cache, int64_t q_heads,
                           int64_t head_dim);
/// Attention of the rotated q over cache positions 0..position: [1, 1, q_heads · head_dim].
at::Tensor decode_attention(const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
                            const at::Tensor& position, int64_t q_heads, int64_t head_dim, double scale);
/// True for a contiguous CUDA gate_up [..., 2n] in float32/bf16/f16.
bool silu_mul_supported(const at::Tensor& gate_up);
/// [..., 2n] = [gate | up] → [..., n] = silu(gate) · up (any number of contiguous CUDA rows).
at::Tensor silu_mul(const at::Tensor& gate_up);

// ---- prefill (many rows) helpers; CUDA builds only, as above ----

/// True when `l` is NF4 on CUDA with float32 scales and the CUDA dequantizer can write it as `dtype`.
bool nf4_dequantize_supported(const Linear& l, at::ScalarType dtype);
/// Writes the dequantized weight [out, in] into `out` (contiguous, CUDA, the dtype above).
void nf4_dequantize_into(const Linear& l, at::Tensor& out);
/// True when lora_shrink_rows can take x [..., in] (contiguous CUDA, float32/bf16/f16) and the pairs
/// (float32 A [r, in] of one rank r ≤ 64, at least one; null = none).
bool lora_shrink_rows_supported(const std::vector<const LoraWeights*>& loras, const at::Tensor& x);
/// t [..., Σ r] float32: A_s · x for each segment with a pair, in order (x converted to float32 as
/// PEFT does; the accumulation is float32).
at::Tensor lora_shrink_rows(const std::vector<const LoraWeights*>& loras, const at::Tensor& x);
/// True when lora_expand_rows can update y [..., Σ out] (contiguous CUDA, float32/bf16/f16) with
/// float32 LoRA pairs of one rank r ≤ 64 (null = none) and t [..., Σ r] float32.
bool lora_expand_rows_supported(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                                const at::Tensor& t, const at::Tensor& y);
/// y[..., o] = y + scaling · B · t_s for every segment s with a pair, in place; t holds the segments'
/// A · x values in the order of the segments with a pair, r each.
void lora_expand_rows(const std::vector<const Linear*>& linears, const std::vector<const LoraWeights*>& loras,
                      const at::Tensor& t, at::Tensor& y);
/// True when rope_rows can take qkv [B, T, (q_heads + 2 kv_heads) · d] into caches [B, kv_heads, cap, d].
bool rope_rows_supported(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& k_cache,
                         const at::Tensor& v_cache, int64_t head_dim);
/// RoPE of T positions starting at `past`: returns q [B, q_heads, T, d]; k (rotated) and v are written
/// into the caches at past .. past + T − 1.
at::Tensor rope_rows(const at::Tensor& qkv, const at::Tensor& cos, const at::Tensor& sin, at::Tensor& k_cache,
                     at::Tensor& v_cache, int64_t past, int64_t q_heads, int64_t head_dim);

}  // namespace troupe::llama
