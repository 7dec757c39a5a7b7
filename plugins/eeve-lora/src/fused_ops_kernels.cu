#include "fused_ops_kernels.cuh"

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

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total.
__device__ __forceinline__ float block_sum(float v) {
    __shared__ float partial[32];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();  // partial[] may still be read from a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float total = 0.f;
    const int warps = blockDim.x >> 5;
    for (int w = 0; w < warps; ++w) total += partial[w];
    return total;
}

template <typename T>
__global__ void rms_norm_kernel(const T* __restrict__ x, const T* __restrict__ weight, T* __restrict__ out, int64_t n,
                                float eps) {
    const T* row = x + blockIdx.x * n;
    T* dst = out + blockIdx.x * n;
    float ss = 0.f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        const float v = to_float(row[i]);
        ss += v * v;
    }
    const float inv = rsqrtf(block_sum(ss) / static_cast<float>(n) + eps);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        dst[i] = from_float<T>(to_float(weight[i]) * to_float(from_float<T>(to_float(row[i]) * inv)));
}

// One block per LoRA rank: t[j] = A[j, :] · x.
template <typename T>
__global__ void lora_down_kernel(const T* __restrict__ x, const float* __restrict__ A, float* __restrict__ t, int64_t in) {
    const float* a = A + blockIdx.x * in;
    float acc = 0.f;
    for (int64_t i = threadIdx.x; i < in; i += blockDim.x) acc += a[i] * to_float(x[i]);
    acc = block_sum(acc);
    if (threadIdx.x == 0) t[blockIdx.x] = acc;
}

// One thread per output: y_out[o] = T(y[o] + scaling · B[o, :] · t).
template <typename T>
__global__ void lora_up_kernel(const float* __restrict__ B, const float* __restrict__ t, const T* __restrict__ y,
                               T* __restrict__ y_out, int64_t r, int64_t out, float scaling) {
    __shared__ float ts[64];
    if (threadIdx.x < r) ts[threadIdx.x] = t[threadIdx.x];
    __syncthreads();
    const int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (o >= out) return;
    const float* b = B + o * r;
    float acc = 0.f;
    for (int64_t j = 0; j < r; ++j) acc += b[j] * ts[j];
    y_out[o] = from_float<T>(to_float(y[o]) + acc * scaling);
}

// One block per head (q heads first, then k heads), one thread per element of the head.
template <typename T>
__global__ void rope_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ cos,
                            const T* __restrict__ sin, T* __restrict__ q_out, T* __restrict__ k_out, int64_t q_heads,
                            int64_t d) {
    const int64_t head = blockIdx.x;
    const T* src = head < q_heads ? q + head * d : k + (head - q_heads) * d;
    T* dst = head < q_heads ? q_out + head * d : k_out + (head - q_heads) * d;
    const int64_t half = d / 2;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        const float rotated = i < half ? -to_float(src[i + half]) : to_float(src[i - half]);
        const T a = from_float<T>(to_float(src[i]) * to_float(cos[i]));
        const T b = from_float<T>(rotated * to_float(sin[i]));
        dst[i] = from_float<T>(to_float(a) + to_float(b));
    }
}

template <template <typename> class F, typename... Args>
void by_dtype(int dtype, Args&&... args) {
    if (dtype == 0) F<float>::run(args...);
    else if (dtype == 1) F<__half>::run(args...);
    else F<__nv_bfloat16>::run(args...);
}

template <typename T>
struct RmsNorm {
    static void run(const void* x, const void* w, void* out, int64_t rows, int64_t n, float eps, cudaStream_t s) {
        const int threads = n >= 4096 ? 1024 : 256;
        rms_norm_kernel<T><<<static_cast<unsigned>(rows), threads, 0, s>>>(static_cast<const T*>(x), static_cast<const T*>(w),
                                                                            static_cast<T*>(out), n, eps);
    }
};

template <typename T>
struct Rope {
    static void run(const void* q, const void* k, const void* cos, const void* sin, void* q_out, void* k_out,
                    int64_t q_heads, int64_t k_heads, int64_t d, cudaStream_t s) {
        rope_kernel<T><<<static_cast<unsigned>(q_heads + k_heads), 128, 0, s>>>(
            static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(cos), static_cast<const T*>(sin),
            static_cast<T*>(q_out), static_cast<T*>(k_out), q_heads, d);
    }
};

template <typename T>
struct LoraAdd {
    static void run(const void* x, const float* A, const float* B, const void* y, void* y_out, float* t, int64_t r,
                    int64_t in, int64_t out, float scaling, cudaStream_t s) {
        lora_down_kernel<T><<<static_cast<unsigned>(r), 256, 0, s>>>(static_cast<const T*>(x), A, t, in);
        lora_up_kernel<T><<<static_cast<unsigned>((out + 255) / 256), 256, 0, s>>>(
            B, t, static_cast<const T*>(y), static_cast<T*>(y_out), r, out, scaling);
    }
};

}  // namespace

void nf4_gemv(const uint8_t* packed, const float* scales, const float* codebook, const void* x, void* y,
              int64_t rows, int64_t cols, int64_t blocksize, int dtype, cudaStream_t stream) {
    if (dtype == 0) launch<float>(packed, scales, codebook, x, y, rows, cols, blocksize, stream);
    else if (dtype == 1) launch<__half>(packed, scales, codebook, x, y, rows, cols, blocksize, stream);
    else launch<__nv_bfloat16>(packed, scales, codebook, x, y, rows, cols, blocksize, stream);
}

void rms_norm(const void* x, const void* weight, void* out, int64_t rows, int64_t n, float eps, int dtype,
              cudaStream_t stream) {
    by_dtype<RmsNorm>(dtype, x, weight, out, rows, n, eps, stream);
}

void lora_add(const void* x, const float* A, const float* B, const void* y, void* y_out, float* t, int64_t r,
              int64_t in, int64_t out, float scaling, int dtype, cudaStream_t stream) {
    by_dtype<LoraAdd>(dtype, x, A, B, y, y_out, t, r, in, out, scaling, stream);
}

void rope(const void* q, const void* k, const void* cos, const void* sin, void* q_out, void* k_out, int64_t q_heads,
          int64_t k_heads, int64_t d, int dtype, cudaStream_t stream) {
    by_dtype<Rope>(dtype, q, k, cos, sin, q_out, k_out, q_heads, k_heads, d, stream);
}

}  // namespace troupe::llama::cuda
