#include "nf4_gemv_kernel.cuh"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace troupe::llama::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

template <typename T> __device__ __forceinline__ T from_float(float v);
template <> __device__ __forceinline__ float from_float<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_float<__half>(float v) { return __float2half(v); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

// 32 consecutive activations (16-byte aligned) as floats, with vector loads.
__device__ __forceinline__ void load32(const float* p, float* out) {
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        const float4 v = __ldg(reinterpret_cast<const float4*>(p) + i);
        out[4 * i] = v.x, out[4 * i + 1] = v.y, out[4 * i + 2] = v.z, out[4 * i + 3] = v.w;
    }
}
template <typename T>
__device__ __forceinline__ void load32(const T* p, float* out) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const uint4 v = __ldg(reinterpret_cast<const uint4*>(p) + i);
        const T* h = reinterpret_cast<const T*>(&v);
#pragma unroll
        for (int j = 0; j < 8; ++j) out[8 * i + j] = to_float(h[j]);
    }
}

// One warp per output row. Each lane takes 16 packed bytes (32 weights, inside one scale block)
// per iteration, so a warp reads 512 contiguous bytes at a time.
template <typename T>
__global__ void nf4_gemv_kernel(const uint8_t* __restrict__ packed, const float* __restrict__ scales,
                                const float* __restrict__ codebook, const T* __restrict__ x, T* __restrict__ y,
                                int64_t rows, int64_t cols, int64_t blocksize) {
    __shared__ float lut[16];
    if (threadIdx.x < 16) lut[threadIdx.x] = codebook[threadIdx.x];
    __syncthreads();
    const int lane = threadIdx.x & 31;
    const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (row >= rows) return;
    const uint4* w = reinterpret_cast<const uint4*>(packed + row * (cols / 2));
    const int64_t chunks = cols / 32;
    const int64_t first = row * cols;
    float acc = 0.f;
    for (int64_t c = lane; c < chunks; c += 32) {
        const uint4 v = __ldg(w + c);
        const uint8_t* b = reinterpret_cast<const uint8_t*>(&v);
        float xs[32];
        load32(x + c * 32, xs);
        float part = 0.f;
#pragma unroll
        for (int j = 0; j < 16; ++j) part += lut[b[j] >> 4] * xs[2 * j] + lut[b[j] & 15] * xs[2 * j + 1];
        acc += part * __ldg(scales + (first + c * 32) / blocksize);
    }
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, offset);
    if (lane == 0) y[row] = from_float<T>(acc);
}

template <typename T>
void launch(const uint8_t* packed, const float* scales, const float* codebook, const void* x, void* y, int64_t rows,
            int64_t cols, int64_t blocksize, cudaStream_t stream) {
    const unsigned blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
    nf4_gemv_kernel<T><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(
        packed, scales, codebook, static_cast<const T*>(x), static_cast<T*>(y), rows, cols, blocksize);
}

}  // namespace

void nf4_gemv(const uint8_t* packed, const float* scales, const float* codebook, const void* x, void* y,
              int64_t rows, int64_t cols, int64_t blocksize, int dtype, cudaStream_t stream) {
    if (dtype == 0) launch<float>(packed, scales, codebook, x, y, rows, cols, blocksize, stream);
    else if (dtype == 1) launch<__half>(packed, scales, codebook, x, y, rows, cols, blocksize, stream);
    else launch<__nv_bfloat16>(packed, scales, codebook, x, y, rows, cols, blocksize, stream);
}

}  // namespace troupe::llama::cuda
