// fused_ops_kernels.cuh — raw-pointer launchers of the fused decode kernels (nvcc compiles only
// fused_ops_kernels.cu; no ATen there). dtype codes: 0 float32, 1 float16, 2 bfloat16.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace troupe::llama::cuda {

/// y[rows] = W[rows, cols] · x[cols]. W: NF4 codes, element i in byte i/2 (high nibble first),
/// block b of `blocksize` elements scaled by scales[b]; codebook: 16 floats. cols and blocksize
/// multiples of 32; packed and x 16-byte aligned.
void nf4_gemv(const uint8_t* packed, const float* scales, const float* codebook, const void* x, void* y,
              int64_t rows, int64_t cols, int64_t blocksize, int dtype, cudaStream_t stream);

/// out[r, :] = weight * T(x[r, :] * rsqrt(mean(x[r, :]²) + eps)), statistics in float32.
void rms_norm(const void* x, const void* weight, void* out, int64_t rows, int64_t n, float eps, int dtype,
              cudaStream_t stream);

/// t[r] = A[r, :] · x (float32), then y_out[o] = T(y[o] + scaling · B[o, :] · t).
void lora_add(const void* x, const float* A, const float* B, const void* y, void* y_out, float* t, int64_t r,
              int64_t in, int64_t out, float scaling, int dtype, cudaStream_t stream);

/// Rotary embedding of one position for q (q_heads × d) and k (k_heads × d) into q_out, k_out.
void rope(const void* q, const void* k, const void* cos, const void* sin, void* q_out, void* k_out, int64_t q_heads,
          int64_t k_heads, int64_t d, int dtype, cudaStream_t stream);

}  // namespace troupe::llama::cuda
