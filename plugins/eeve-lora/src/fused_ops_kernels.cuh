// nf4_gemv_kernel.cuh — the CUDA launcher behind nf4_gemv (raw pointers, no ATen: nvcc compiles
// only nf4_gemv_kernel.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace troupe::llama::cuda {

/// y[rows] = W[rows, cols] · x[cols]. W: NF4 codes, element i in byte i/2 (high nibble first),
/// block b of `blocksize` elements scaled by scales[b]; codebook: 16 floats. dtype of x and y:
/// 0 float32, 1 float16, 2 bfloat16. cols and blocksize multiples of 32; packed 16-byte aligned.
void nf4_gemv(const uint8_t* packed, const float* scales, const float* codebook, const void* x, void* y,
              int64_t rows, int64_t cols, int64_t blocksize, int dtype, cudaStream_t stream);

}  // namespace troupe::llama::cuda
