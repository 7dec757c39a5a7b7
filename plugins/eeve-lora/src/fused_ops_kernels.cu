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

// Rounds through T, as an ATen op producing a T tensor does.
template <typename T> __device__ __forceinline__ float round_to(float v) { return to_float(from_float<T>(v)); }

// Values per 16-byte vector.
template <typename T> struct Vec { static constexpr int n = 16 / sizeof(T); };

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Reduction over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
template <bool Max>
__device__ __forceinline__ float block_reduce(float v) {
    __shared__ float partial[32];
    v = Max ? warp_max(v) : warp_sum(v);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    __syncthreads();  // partial[] may still be read from a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    float total = partial[0];
    const int warps = blockDim.x >> 5;
    for (int w = 1; w < warps; ++w) total = Max ? fmaxf(total, partial[w]) : total + partial[w];
    return total;
}

// Which segment of a group an output row belongs to, and its row inside it.
__device__ __forceinline__ int segment_of(const int64_t* rows, int count, int64_t& row) {
    int s = 0;
    while (s + 1 < count && row >= rows[s]) row -= rows[s++];
    return s;
}

// One warp per output row; each lane reads 16 bytes of the weight row per step.
template <typename T>
__global__ void group_gemv_kernel(GemvGroup g, const T* __restrict__ x, T* __restrict__ y, int64_t cols,
                                  int64_t total) {
    __shared__ float lut[16];
    if (g.nf4 && threadIdx.x < 16) lut[threadIdx.x] = g.codebook[threadIdx.x];
    __syncthreads();
    const int lane = threadIdx.x & 31;
    const int64_t out_row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
    if (out_row >= total) return;
    int64_t row = out_row;
    const int s = segment_of(g.rows, g.count, row);
    float acc = 0.f;
    if (g.nf4) {  // 16 bytes = 32 weights, inside one scale block
        const uint4* w = reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(g.weight[s]) + row * (cols / 2));
        const float* scales = g.scales[s];
        const int64_t first = row * cols;
        for (int64_t c = lane; c < cols / 32; c += 32) {
            const uint4 v = __ldg(w + c);
            const uint8_t* b = reinterpret_cast<const uint8_t*>(&v);
            const T* xs = x + c * 32;
            float part = 0.f;
#pragma unroll
            for (int q = 0; q < 32 / Vec<T>::n; ++q) {
                const uint4 xv = __ldg(reinterpret_cast<const uint4*>(xs) + q);
                const T* xt = reinterpret_cast<const T*>(&xv);
#pragma unroll
                for (int j = 0; j < Vec<T>::n; j += 2) {
                    const uint8_t byte = b[(q * Vec<T>::n + j) / 2];
                    part += lut[byte >> 4] * to_float(xt[j]) + lut[byte & 15] * to_float(xt[j + 1]);
                }
            }
            acc += part * __ldg(scales + (first + c * 32) / g.blocksize);
        }
    } else {
        constexpr int n = Vec<T>::n;
        const T* w = static_cast<const T*>(g.weight[s]) + row * cols;
#pragma unroll 4
        for (int64_t c = lane * n; c < cols; c += 32 * n) {
            const uint4 wv = __ldg(reinterpret_cast<const uint4*>(w + c));
            const uint4 xv = __ldg(reinterpret_cast<const uint4*>(x + c));
            const T* wt = reinterpret_cast<const T*>(&wv);
            const T* xt = reinterpret_cast<const T*>(&xv);
#pragma unroll
            for (int j = 0; j < n; ++j) acc += to_float(wt[j]) * to_float(xt[j]);
        }
    }
    acc = warp_sum(acc);
    if (lane == 0) y[out_row] = from_float<T>(acc);
}

// One block per (segment, rank): t[s·r + j] = A[s][j, :] · x.
template <typename T>
__global__ void lora_down_kernel(LoraGroup l, const T* __restrict__ x, float* __restrict__ t, int64_t cols) {
    const int s = blockIdx.x / l.r, j = blockIdx.x % l.r;
    if (!l.A[s]) return;  // uniform over the block
    const float* a = l.A[s] + j * cols;
    float acc = 0.f;
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) acc += a[i] * to_float(x[i]);
    acc = block_reduce<false>(acc);
    if (threadIdx.x == 0) t[blockIdx.x] = acc;
}

// One thread per output row: y[o] = T(y[o] + scaling · B[o, :] · t), in place.
template <typename T>
__global__ void lora_up_kernel(GemvGroup g, LoraGroup l, const float* __restrict__ t, T* __restrict__ y, int64_t total) {
    const int64_t out_row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (out_row >= total) return;
    int64_t row = out_row;
    const int s = segment_of(g.rows, g.count, row);
    if (!l.B[s]) return;
    const float* b = l.B[s] + row * l.r;
    const float* ts = t + s * l.r;
    float acc = 0.f;
    for (int64_t j = 0; j < l.r; ++j) acc += b[j] * ts[j];
    y[out_row] = from_float<T>(to_float(y[out_row]) + acc * l.scaling[s]);
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
    const float inv = rsqrtf(block_reduce<false>(ss) / static_cast<float>(n) + eps);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        dst[i] = from_float<T>(to_float(weight[i]) * round_to<T>(to_float(row[i]) * inv));
}

// One block per head: q heads, then k heads (rotated into the cache), then v heads (copied).
template <typename T>
__global__ void rope_into_cache_kernel(const T* __restrict__ qkv, const T* __restrict__ cos, const T* __restrict__ sin,
                                       const int64_t* __restrict__ position, T* __restrict__ q_out, T* k_cache,
                                       T* v_cache, int64_t q_heads, int64_t kv_heads, int64_t d, int64_t capacity) {
    const int64_t head = blockIdx.x, p = *position;
    const T* src = qkv + head * d;
    T* dst;
    bool rotate = true;
    if (head < q_heads) {
        dst = q_out + head * d;
    } else if (head < q_heads + kv_heads) {
        dst = k_cache + ((head - q_heads) * capacity + p) * d;
    } else {
        dst = v_cache + ((head - q_heads - kv_heads) * capacity + p) * d;
        rotate = false;
    }
    const int64_t half = d / 2;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        if (!rotate) {
            dst[i] = src[i];
            continue;
        }
        const float rotated = i < half ? -to_float(src[i + half]) : to_float(src[i - half]);
        const float a = round_to<T>(to_float(src[i]) * to_float(cos[i]));
        const float b = round_to<T>(rotated * to_float(sin[i]));
        dst[i] = from_float<T>(a + b);
    }
}

// One block per query head; dynamic shared memory holds the scores of positions 0..p.
template <typename T>
__global__ void decode_attention_kernel(const T* __restrict__ q, const T* __restrict__ k_cache,
                                        const T* __restrict__ v_cache, const int64_t* __restrict__ position,
                                        T* __restrict__ out, int64_t q_heads, int64_t kv_heads, int64_t d,
                                        int64_t capacity, float scale) {
    extern __shared__ float scores[];
    const int64_t head = blockIdx.x, group = head / (q_heads / kv_heads), n = *position + 1;
    const T* qh = q + head * d;
    const T* keys = k_cache + group * capacity * d;
    const T* values = v_cache + group * capacity * d;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    for (int64_t j = warp; j < n; j += warps) {  // one warp per key
        const T* kj = keys + j * d;
        float dot = 0.f;
        for (int64_t i = lane; i < d; i += 32) dot += to_float(qh[i]) * to_float(kj[i]);
        dot = warp_sum(dot);
        if (lane == 0) scores[j] = round_to<T>(round_to<T>(dot) * scale);
    }
    __syncthreads();
    float mx = -3.402823466e38f;  // scores are finite
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) mx = fmaxf(mx, scores[j]);
    mx = block_reduce<true>(mx);
    float sum = 0.f;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += expf(scores[j] - mx);
    sum = block_reduce<false>(sum);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) scores[j] = round_to<T>(expf(scores[j] - mx) / sum);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        float acc = 0.f;
        for (int64_t j = 0; j < n; ++j) acc += scores[j] * to_float(values[j * d + i]);
        out[head * d + i] = from_float<T>(acc);
    }
}

template <typename T>
__global__ void silu_mul_kernel(const T* __restrict__ gate_up, T* __restrict__ out, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float g = to_float(gate_up[i]);
    out[i] = from_float<T>(round_to<T>(g / (1.f + expf(-g))) * to_float(gate_up[n + i]));
}

int64_t total_rows(const GemvGroup& g) {
    int64_t total = 0;
    for (int s = 0; s < g.count; ++s) total += g.rows[s];
    return total;
}

unsigned blocks_for(int64_t n, int64_t per_block) { return static_cast<unsigned>((n + per_block - 1) / per_block); }

template <typename T>
struct Launch {
    static void group_gemv(const GemvGroup& g, const void* x, void* y, int64_t cols, cudaStream_t s) {
        const int64_t total = total_rows(g);
        group_gemv_kernel<T><<<blocks_for(total, kWarpsPerBlock), kWarpsPerBlock * 32, 0, s>>>(
            g, static_cast<const T*>(x), static_cast<T*>(y), cols, total);
    }
    static void group_lora(const GemvGroup& g, const LoraGroup& l, const void* x, void* y, float* t, int64_t cols,
                           cudaStream_t s) {
        const int64_t total = total_rows(g);
        lora_down_kernel<T><<<static_cast<unsigned>(g.count * l.r), 256, 0, s>>>(l, static_cast<const T*>(x), t, cols);
        lora_up_kernel<T><<<blocks_for(total, 256), 256, 0, s>>>(g, l, t, static_cast<T*>(y), total);
    }
    static void rms_norm(const void* x, const void* w, void* out, int64_t rows, int64_t n, float eps, cudaStream_t s) {
        rms_norm_kernel<T><<<static_cast<unsigned>(rows), n >= 4096 ? 1024 : 256, 0, s>>>(
            static_cast<const T*>(x), static_cast<const T*>(w), static_cast<T*>(out), n, eps);
    }
    static void rope_into_cache(const void* qkv, const void* cos, const void* sin, const int64_t* position, void* q_out,
                                void* k_cache, void* v_cache, int64_t q_heads, int64_t kv_heads, int64_t d,
                                int64_t capacity, cudaStream_t s) {
        rope_into_cache_kernel<T><<<static_cast<unsigned>(q_heads + 2 * kv_heads), 128, 0, s>>>(
            static_cast<const T*>(qkv), static_cast<const T*>(cos), static_cast<const T*>(sin), position,
            static_cast<T*>(q_out), static_cast<T*>(k_cache), static_cast<T*>(v_cache), q_heads, kv_heads, d, capacity);
    }
    static void decode_attention(const void* q, const void* k_cache, const void* v_cache, const int64_t* position,
                                 void* out, int64_t q_heads, int64_t kv_heads, int64_t d, int64_t capacity, float scale,
                                 cudaStream_t s) {
        decode_attention_kernel<T><<<static_cast<unsigned>(q_heads), 256, capacity * sizeof(float), s>>>(
            static_cast<const T*>(q), static_cast<const T*>(k_cache), static_cast<const T*>(v_cache), position,
            static_cast<T*>(out), q_heads, kv_heads, d, capacity, scale);
    }
    static void silu_mul(const void* gate_up, void* out, int64_t n, cudaStream_t s) {
        silu_mul_kernel<T><<<blocks_for(n, 256), 256, 0, s>>>(static_cast<const T*>(gate_up), static_cast<T*>(out), n);
    }
};

template <template <typename> class F, typename Fn>
void by_dtype(int dtype, Fn&& fn) {
    if (dtype == 0) fn(F<float>{});
    else if (dtype == 1) fn(F<__half>{});
    else fn(F<__nv_bfloat16>{});
}

}  // namespace

void group_gemv(const GemvGroup& g, const void* x, void* y, int64_t cols, int dtype, cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) { l.group_gemv(g, x, y, cols, stream); });
}

void group_lora(const GemvGroup& g, const LoraGroup& lora, const void* x, void* y, float* t, int64_t cols, int dtype,
                cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) { l.group_lora(g, lora, x, y, t, cols, stream); });
}

void rms_norm(const void* x, const void* weight, void* out, int64_t rows, int64_t n, float eps, int dtype,
              cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) { l.rms_norm(x, weight, out, rows, n, eps, stream); });
}

void rope_into_cache(const void* qkv, const void* cos, const void* sin, const int64_t* position, void* q_out,
                     void* k_cache, void* v_cache, int64_t q_heads, int64_t kv_heads, int64_t d, int64_t capacity,
                     int dtype, cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) {
        l.rope_into_cache(qkv, cos, sin, position, q_out, k_cache, v_cache, q_heads, kv_heads, d, capacity, stream);
    });
}

void decode_attention(const void* q, const void* k_cache, const void* v_cache, const int64_t* position, void* out,
                      int64_t q_heads, int64_t kv_heads, int64_t d, int64_t capacity, float scale, int dtype,
                      cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) {
        l.decode_attention(q, k_cache, v_cache, position, out, q_heads, kv_heads, d, capacity, scale, stream);
    });
}

void silu_mul(const void* gate_up, void* out, int64_t n, int dtype, cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) { l.silu_mul(gate_up, out, n, stream); });
}

}  // namespace troupe::llama::cuda
