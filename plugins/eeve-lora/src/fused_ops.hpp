// fused_ops.hpp — CUDA kernels that fuse the small steps of batch-1 decoding (CUDA builds only;
// elsewhere every *_supported() is false and the callers use plain ATen ops):
//   nf4_gemv   y = W x straight from NF4 codes: the 4-bit weight is read once, never dequantized
//              into memory, which is what makes NF4 decoding faster than 16-bit instead of slower;
//   rms_norm   transformers' LlamaRMSNorm (float32 statistics, weight applied in the input dtype)
//              in one kernel instead of seven;
//   lora_add   y += scaling · B (A x), computed in float32 as PEFT does, in two kernels instead of six;
//   rope       q·cos + rotate_half(q)·sin for q and k of one position, one kernel instead of ten.
// A decode step launches thousands of kernels, so their count, not the FLOPs, sets its speed.
#pragma once

#include "nf4.hpp"

#include <ATen/Tensor.h>

#include <utility>

namespace troupe::llama {

struct LoraWeights;

/// True when `x` (float32/bf16/f16, CUDA, a single row of w.shape[1] values) can take the fused
/// kernel: rows of a multiple of 32 values and blocks of a multiple of 32.
bool nf4_gemv_supported(const Nf4Weight& w, const at::Tensor& x);
/// W x without bias; `scales` are w.scales() (float32, same device), computed once at load.
/// Returns x's shape with the last dimension = w.shape[0], in x's dtype.
at::Tensor nf4_gemv(const Nf4Weight& w, const at::Tensor& scales, const at::Tensor& x);

/// True for a contiguous CUDA x [..., n] (float32/bf16/f16) and weight [n] of the same dtype.
bool rms_norm_supported(const at::Tensor& x, const at::Tensor& weight);
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// True for a single-row CUDA x and y of one dtype with float32 A [r, in], B [out, r], r ≤ 64.
bool lora_add_supported(const at::Tensor& x, const LoraWeights& lora, const at::Tensor& y);
/// y + scaling · (x Aᵀ) Bᵀ, in float32, rounded once to y's dtype (a new tensor).
at::Tensor lora_add(const at::Tensor& x, const LoraWeights& lora, const at::Tensor& y);

/// True for one position: q [1, H, 1, D], k [1, KV, 1, D] (contiguous), cos/sin [1, D], one dtype.
bool rope_supported(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos, const at::Tensor& sin);
/// The rotated q and k, rounded after each product and the sum as the ATen formula is.
std::pair<at::Tensor, at::Tensor> rope(const at::Tensor& q, const at::Tensor& k, const at::Tensor& cos,
                                       const at::Tensor& sin);

}  // namespace troupe::llama
