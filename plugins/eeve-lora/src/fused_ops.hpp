// nf4_gemv.hpp — y = W x for one token (x [..., in] with a single row) straight from NF4 codes on
// CUDA: the 4-bit weight is read once and never dequantized into memory, which is what makes NF4
// decoding faster than 16-bit instead of slower. Only in CUDA builds; elsewhere supported() is false
// and Linear falls back to dequantize + GEMM.
#pragma once

#include "nf4.hpp"

#include <ATen/Tensor.h>

namespace troupe::llama {

/// True when `x` (float32/bf16/f16, CUDA, one row of w.shape[1] values) can take the fused kernel:
/// a CUDA build, rows of a multiple of 32 values and blocks of a multiple of 32.
bool nf4_gemv_supported(const Nf4Weight& w, const at::Tensor& x);

/// W x without bias; `scales` are w.scales() (float32, same device), computed once at load.
/// Returns x's shape with the last dimension = w.shape[0], in x's dtype.
at::Tensor nf4_gemv(const Nf4Weight& w, const at::Tensor& scales, const at::Tensor& x);

}  // namespace troupe::llama
