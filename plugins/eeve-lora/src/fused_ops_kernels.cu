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
#pragma unroll 4
    for (int64_t i = threadIdx.x; i < cols; i += blockDim.x) acc += __ldg(a + i) * to_float(x[i]);
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

// scores[0..n) (shared, written by the block) → their float32 softmax, each probability rounded to T
// as the probabilities transformers casts back to the input dtype.
template <typename T>
__device__ __forceinline__ void softmax_scores(float* scores, int64_t n) {
    float mx = -3.402823466e38f;  // scores are finite
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) mx = fmaxf(mx, scores[j]);
    mx = block_reduce<true>(mx);
    float sum = 0.f;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += expf(scores[j] - mx);
    sum = block_reduce<false>(sum);
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) scores[j] = round_to<T>(expf(scores[j] - mx) / sum);
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
    softmax_scores<T>(scores, n);
    __syncthreads();
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        float acc = 0.f;
        for (int64_t j = 0; j < n; ++j) acc += scores[j] * to_float(values[j * d + i]);
        out[head * d + i] = from_float<T>(acc);
    }
}

// The same attention with 16-byte loads: a key's d values are spread over L = d / Vec<T>::n lanes (a
// power of two ≤ 32), so a warp reads 32 / L keys at once, two rounds per step; the weighted sum keeps
// each lane's Vec<T>::n output values in registers over its keys, and shared memory adds the key slots.
// Dynamic shared memory: scores [capacity], then the slots' partial sums [slots · d].
template <typename T>
__global__ void decode_attention_vec_kernel(const T* __restrict__ q, const T* __restrict__ k_cache,
                                            const T* __restrict__ v_cache, const int64_t* __restrict__ position,
                                            T* __restrict__ out, int64_t q_heads, int64_t kv_heads, int d,
                                            int64_t capacity, float scale) {
    extern __shared__ float smem[];
    constexpr int n = Vec<T>::n;
    float* scores = smem;
    float* partial = smem + capacity;
    const int64_t head = blockIdx.x, group = head / (q_heads / kv_heads), N = *position + 1;
    const int L = d / n, per_warp = 32 / L, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int slots = (blockDim.x >> 5) * per_warp;
    const int slot = warp * per_warp + lane / L, part = lane % L;
    const T* keys = k_cache + group * capacity * d + part * n;
    const T* values = v_cache + group * capacity * d + part * n;
    float qf[n];
    {
        const uint4 qv = __ldg(reinterpret_cast<const uint4*>(q + head * d + part * n));
        const T* qt = reinterpret_cast<const T*>(&qv);
#pragma unroll
        for (int i = 0; i < n; ++i) qf[i] = to_float(qt[i]);
    }
    for (int64_t w0 = warp * per_warp; w0 < N; w0 += 2 * slots) {  // a warp-uniform bound: all lanes shuffle
        const int64_t j0 = w0 + lane / L;
        float dot[2] = {0.f, 0.f};
#pragma unroll
        for (int u = 0; u < 2; ++u) {
            const int64_t j = j0 + u * slots;
            if (j < N) {
                const uint4 kv = __ldg(reinterpret_cast<const uint4*>(keys + j * d));
                const T* kt = reinterpret_cast<const T*>(&kv);
#pragma unroll
                for (int i = 0; i < n; ++i) dot[u] += qf[i] * to_float(kt[i]);
            }
        }
#pragma unroll
        for (int u = 0; u < 2; ++u) {
            for (int o = L / 2; o > 0; o >>= 1) dot[u] += __shfl_xor_sync(0xffffffffu, dot[u], o);
            const int64_t j = j0 + u * slots;
            if (part == 0 && j < N) scores[j] = round_to<T>(round_to<T>(dot[u]) * scale);
        }
    }
    __syncthreads();
    softmax_scores<T>(scores, N);
    __syncthreads();
    float acc[n];
#pragma unroll
    for (int i = 0; i < n; ++i) acc[i] = 0.f;
    for (int64_t j = slot; j < N; j += 2 * slots) {
        const int64_t j2 = j + slots;
        const uint4 v0 = __ldg(reinterpret_cast<const uint4*>(values + j * d));
        const uint4 v1 = j2 < N ? __ldg(reinterpret_cast<const uint4*>(values + j2 * d)) : make_uint4(0, 0, 0, 0);
        const float p0 = scores[j], p1 = j2 < N ? scores[j2] : 0.f;
        const T* a = reinterpret_cast<const T*>(&v0);
        const T* b = reinterpret_cast<const T*>(&v1);
#pragma unroll
        for (int i = 0; i < n; ++i) acc[i] += p0 * to_float(a[i]) + p1 * to_float(b[i]);
    }
#pragma unroll
    for (int i = 0; i < n; ++i) partial[slot * d + part * n + i] = acc[i];
    __syncthreads();
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float total = 0.f;
        for (int sl = 0; sl < slots; ++sl) total += partial[sl * d + i];
        out[head * d + i] = from_float<T>(total);
    }
}

template <typename T>
__global__ void silu_mul_kernel(const T* __restrict__ gate_up, T* __restrict__ out, int64_t n, int64_t rows) {
    const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n * rows) return;
    const int64_t r = idx / n, i = idx % n;
    const T* gu = gate_up + r * 2 * n;
    const float g = to_float(gu[i]);
    out[idx] = from_float<T>(round_to<T>(g / (1.f + expf(-g))) * to_float(gu[n + i]));
}


// ---- version 2 GEMV: R rows per warp share each 16-byte activation load; weights are streamed
// (evict-first); the LoRA expand runs in the epilogue. ----
constexpr int kV2Warps = 4;  // warps per block
constexpr int kV2Rows = 2;   // output rows per warp

// y[o] from the warp's full sum: rounded to T as the GEMV's output, plus the LoRA expand (as lora_up_kernel).
template <typename T>
__device__ __forceinline__ void store_row(const GemvGroup& g, const LoraGroup& l, const float* __restrict__ t,
                                          T* __restrict__ y, int64_t out_row, float acc) {
    int64_t row = out_row;
    const int s = segment_of(g.rows, g.count, row);
    float v = acc;
    if (l.r > 0 && l.B[s]) {
        v = round_to<T>(v);
        const float* b = l.B[s] + row * l.r;
        const float* ts = t + s * l.r;
        float d = 0.f;
        for (int64_t j = 0; j < l.r; ++j) d += b[j] * ts[j];
        v = v + d * l.scaling[s];
    }
    y[out_row] = from_float<T>(v);
}

template <typename T, int R>
__global__ void __launch_bounds__(kV2Warps * 32)
    gemv_v2_kernel(GemvGroup g, LoraGroup l, const float* __restrict__ t, const T* __restrict__ x, T* __restrict__ y,
                   int cols, int64_t total) {
    constexpr int n = Vec<T>::n;
    const int lane = threadIdx.x & 31;
    const int64_t first = (static_cast<int64_t>(blockIdx.x) * kV2Warps + (threadIdx.x >> 5)) * R;
    if (first >= total) return;
    const uint4* w[R];
#pragma unroll
    for (int r = 0; r < R; ++r) {
        int64_t row = first + r < total ? first + r : total - 1;  // the tail re-reads the last row
        const int s = segment_of(g.rows, g.count, row);
        w[r] = reinterpret_cast<const uint4*>(static_cast<const T*>(g.weight[s]) + row * cols);
    }
    float acc[R];
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = 0.f;
    const int steps = cols / n;
    const uint4* xv4 = reinterpret_cast<const uint4*>(x);
#pragma unroll 4
    for (int c = lane; c < steps; c += 32) {
        const uint4 xv = __ldg(xv4 + c);
        uint4 wv[R];
#pragma unroll
        for (int r = 0; r < R; ++r) wv[r] = __ldcs(w[r] + c);
        const T* xt = reinterpret_cast<const T*>(&xv);
        float xf[n];
#pragma unroll
        for (int j = 0; j < n; ++j) xf[j] = to_float(xt[j]);
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const T* wt = reinterpret_cast<const T*>(&wv[r]);
#pragma unroll
            for (int j = 0; j < n; ++j) acc[r] += to_float(wt[j]) * xf[j];
        }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = warp_sum(acc[r]);
#pragma unroll
    for (int r = 0; r < R; ++r)
        if (lane == r && first + r < total) store_row<T>(g, l, t, y, first + r, acc[r]);
}

// NF4: a 256-entry table gives both weights of a code byte (high nibble first) in one lookup; the
// 32 activations of a 16-byte code chunk are converted once for the warp's R rows.
template <typename T, int R>
__global__ void __launch_bounds__(kV2Warps * 32)
    nf4_gemv_v2_kernel(GemvGroup g, LoraGroup l, const float* __restrict__ t, const T* __restrict__ x,
                       T* __restrict__ y, int cols, int64_t total) {
    __shared__ float2 pair[256];
    for (int i = threadIdx.x; i < 256; i += blockDim.x) pair[i] = make_float2(g.codebook[i >> 4], g.codebook[i & 15]);
    __syncthreads();
    constexpr int n = Vec<T>::n;
    const int lane = threadIdx.x & 31;
    const int64_t first = (static_cast<int64_t>(blockIdx.x) * kV2Warps + (threadIdx.x >> 5)) * R;
    if (first >= total) return;
    const uint4* codes[R];
    const float* scales[R];
    int64_t base[R];  // flattened index of the row's first weight
#pragma unroll
    for (int r = 0; r < R; ++r) {
        int64_t row = first + r < total ? first + r : total - 1;
        const int s = segment_of(g.rows, g.count, row);
        codes[r] = reinterpret_cast<const uint4*>(static_cast<const uint8_t*>(g.weight[s]) + row * (cols / 2));
        scales[r] = g.scales[s];
        base[r] = row * cols;
    }
    float acc[R];
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = 0.f;
    const int chunks = cols / 32;
    const int shift = __ffsll(static_cast<long long>(g.blocksize)) - 1;  // blocksize: a power of two
#pragma unroll 2
    for (int c = lane; c < chunks; c += 32) {
        uint4 cv[R];
        float sc[R];
#pragma unroll
        for (int r = 0; r < R; ++r) {
            cv[r] = __ldcs(codes[r] + c);
            sc[r] = __ldg(scales[r] + ((base[r] + c * 32) >> shift));
        }
        float xf[32];
        const uint4* xs = reinterpret_cast<const uint4*>(x + c * 32);
#pragma unroll
        for (int q = 0; q < 32 / n; ++q) {
            const uint4 xv = __ldg(xs + q);
            const T* xt = reinterpret_cast<const T*>(&xv);
#pragma unroll
            for (int j = 0; j < n; ++j) xf[q * n + j] = to_float(xt[j]);
        }
#pragma unroll
        for (int r = 0; r < R; ++r) {
            const uint32_t words[4] = {cv[r].x, cv[r].y, cv[r].z, cv[r].w};
            float part = 0.f;
#pragma unroll
            for (int k = 0; k < 16; ++k) {  // byte k holds weights 2k (high nibble) and 2k + 1
                const float2 p = pair[(words[k >> 2] >> (8 * (k & 3))) & 0xffu];
                part += p.x * xf[2 * k] + p.y * xf[2 * k + 1];
            }
            acc[r] += part * sc[r];
        }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) acc[r] = warp_sum(acc[r]);
#pragma unroll
    for (int r = 0; r < R; ++r)
        if (lane == r && first + r < total) store_row<T>(g, l, t, y, first + r, acc[r]);
}

// ---- prefill kernels (many rows) ----

// One thread per 16-byte chunk of codes (32 weights, one scale block).
template <typename T>
__global__ void nf4_dequantize_kernel(const uint4* __restrict__ packed, const float* __restrict__ scales,
                                      const float* __restrict__ codebook, T* __restrict__ out, int64_t chunks,
                                      int64_t blocksize) {
    __shared__ float lut[16];
    if (threadIdx.x < 16) lut[threadIdx.x] = codebook[threadIdx.x];
    __syncthreads();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= chunks) return;
    const uint4 v = __ldcs(packed + i);
    const float scale = __ldg(scales + (i * 32) / blocksize);
    const uint32_t words[4] = {v.x, v.y, v.z, v.w};
    constexpr int n = Vec<T>::n;
    uint4* dst = reinterpret_cast<uint4*>(out + i * 32);
#pragma unroll
    for (int q = 0; q < 32 / n; ++q) {
        uint4 o;
        T* ot = reinterpret_cast<T*>(&o);
#pragma unroll
        for (int j = 0; j < n; j += 2) {
            const int k = (q * n + j) / 2;
            const uint32_t byte = (words[k >> 2] >> (8 * (k & 3))) & 0xffu;
            ot[j] = from_float<T>(lut[byte >> 4] * scale);
            ot[j + 1] = from_float<T>(lut[byte & 15] * scale);
        }
        dst[q] = o;
    }
}

struct ShrinkMap {
    const float* a[kMaxGroup * 64];  // A row of each of t's J columns (r ≤ 64)
};

// Block (8 columns of t) × (8 rows of x): the threads stride over cols, each keeping 8 × 8 partial
// dot products; warp shuffles, then shared memory, reduce them.
template <typename T>
__global__ void __launch_bounds__(256)
    lora_shrink_rows_kernel(ShrinkMap m, const T* __restrict__ x, float* __restrict__ t, int64_t rows, int64_t cols,
                            int J) {
    __shared__ float partial[64][8];
    const int j0 = blockIdx.x * 8;
    const int64_t i0 = static_cast<int64_t>(blockIdx.y) * 8;
    const float* a[8];
    const T* xr[8];
#pragma unroll
    for (int c = 0; c < 8; ++c) a[c] = m.a[j0 + c < J ? j0 + c : J - 1];
#pragma unroll
    for (int r = 0; r < 8; ++r) xr[r] = x + (i0 + r < rows ? i0 + r : rows - 1) * cols;
    float acc[8][8];
#pragma unroll
    for (int r = 0; r < 8; ++r)
#pragma unroll
        for (int c = 0; c < 8; ++c) acc[r][c] = 0.f;
    for (int64_t k = threadIdx.x; k < cols; k += blockDim.x) {
        float av[8], xv[8];
#pragma unroll
        for (int c = 0; c < 8; ++c) av[c] = __ldg(a[c] + k);
#pragma unroll
        for (int r = 0; r < 8; ++r) xv[r] = to_float(xr[r][k]);
#pragma unroll
        for (int r = 0; r < 8; ++r)
#pragma unroll
            for (int c = 0; c < 8; ++c) acc[r][c] += xv[r] * av[c];
    }
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
    for (int r = 0; r < 8; ++r)
#pragma unroll
        for (int c = 0; c < 8; ++c) {
            const float v = warp_sum(acc[r][c]);
            if (lane == 0) partial[r * 8 + c][warp] = v;
        }
    __syncthreads();
    if (threadIdx.x < 64) {
        const int r = threadIdx.x / 8, c = threadIdx.x % 8;
        float sum = 0.f;
        for (int w = 0; w < static_cast<int>(blockDim.x >> 5); ++w) sum += partial[threadIdx.x][w];
        if (i0 + r < rows && j0 + c < J) t[(i0 + r) * J + j0 + c] = sum;
    }
}

struct TOffsets {
    int64_t v[kMaxGroup];
};

// One thread per output element of `rows` rows.
template <typename T>
__global__ void lora_expand_rows_kernel(GemvGroup g, LoraGroup l, TOffsets off, const float* __restrict__ t,
                                        int64_t t_stride, T* __restrict__ y, int64_t rows, int64_t total) {
    const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= rows * total) return;
    const int64_t i = idx / total;
    int64_t row = idx % total;
    const int s = segment_of(g.rows, g.count, row);
    if (!l.B[s]) return;
    const float* b = l.B[s] + row * l.r;
    const float* ts = t + i * t_stride + off.v[s];
    float acc = 0.f;
    for (int64_t j = 0; j < l.r; ++j) acc += b[j] * ts[j];
    y[idx] = from_float<T>(to_float(y[idx]) + acc * l.scaling[s]);
}

// grid (q_heads + 2 kv_heads, batch · tokens): as rope_into_cache_kernel, for one (sequence, position).
template <typename T>
__global__ void rope_rows_kernel(const T* __restrict__ qkv, const T* __restrict__ cos, const T* __restrict__ sin,
                                 T* __restrict__ q_out, T* k_cache, T* v_cache, int64_t tokens, int64_t past,
                                 int64_t q_heads, int64_t kv_heads, int64_t d, int64_t capacity) {
    const int64_t head = blockIdx.x, bt = blockIdx.y, b = bt / tokens, tt = bt % tokens;
    const T* src = qkv + (bt * (q_heads + 2 * kv_heads) + head) * d;
    const T* cs = cos + tt * d;
    const T* sn = sin + tt * d;
    T* dst;
    bool rotate = true;
    if (head < q_heads) {
        dst = q_out + ((b * q_heads + head) * tokens + tt) * d;
    } else if (head < q_heads + kv_heads) {
        dst = k_cache + ((b * kv_heads + head - q_heads) * capacity + past + tt) * d;
    } else {
        dst = v_cache + ((b * kv_heads + head - q_heads - kv_heads) * capacity + past + tt) * d;
        rotate = false;
    }
    const int64_t half = d / 2;
    for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
        if (!rotate) {
            dst[i] = src[i];
            continue;
        }
        const float rotated = i < half ? -to_float(src[i + half]) : to_float(src[i - half]);
        const float a = round_to<T>(to_float(src[i]) * to_float(cs[i]));
        const float c = round_to<T>(rotated * to_float(sn[i]));
        dst[i] = from_float<T>(a + c);
    }
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
    static void group_linear_v2(const GemvGroup& g, const LoraGroup& l, const void* x, void* y, float* t,
                                int64_t cols, cudaStream_t s) {
        const int64_t total = total_rows(g);
        if (l.r > 0)
            lora_down_kernel<T><<<static_cast<unsigned>(g.count * l.r), 256, 0, s>>>(l, static_cast<const T*>(x), t, cols);
        const unsigned blocks = blocks_for(total, int64_t(kV2Warps) * kV2Rows);
        if (g.nf4)
            nf4_gemv_v2_kernel<T, kV2Rows><<<blocks, kV2Warps * 32, 0, s>>>(
                g, l, t, static_cast<const T*>(x), static_cast<T*>(y), static_cast<int>(cols), total);
        else
            gemv_v2_kernel<T, kV2Rows><<<blocks, kV2Warps * 32, 0, s>>>(
                g, l, t, static_cast<const T*>(x), static_cast<T*>(y), static_cast<int>(cols), total);
    }
    static void nf4_dequantize(const void* packed, const float* scales, const float* codebook, void* out, int64_t n,
                               int64_t blocksize, cudaStream_t s) {
        const int64_t chunks = n / 32;
        nf4_dequantize_kernel<T><<<blocks_for(chunks, 256), 256, 0, s>>>(
            static_cast<const uint4*>(packed), scales, codebook, static_cast<T*>(out), chunks, blocksize);
    }
    static void lora_shrink_rows(const ShrinkMap& m, int J, const void* x, float* t, int64_t rows, int64_t cols,
                                 cudaStream_t s) {
        const dim3 grid(static_cast<unsigned>((J + 7) / 8), static_cast<unsigned>((rows + 7) / 8));
        lora_shrink_rows_kernel<T><<<grid, 256, 0, s>>>(m, static_cast<const T*>(x), t, rows, cols, J);
    }
    static void lora_expand_rows(const GemvGroup& g, const LoraGroup& l, const TOffsets& off, const float* t,
                                 int64_t t_stride, void* y, int64_t rows, cudaStream_t s) {
        const int64_t total = total_rows(g);
        lora_expand_rows_kernel<T><<<blocks_for(rows * total, 256), 256, 0, s>>>(g, l, off, t, t_stride,
                                                                                 static_cast<T*>(y), rows, total);
    }
    static void rope_rows(const void* qkv, const void* cos, const void* sin, void* q_out, void* k_cache,
                          void* v_cache, int64_t batch, int64_t tokens, int64_t past, int64_t q_heads,
                          int64_t kv_heads, int64_t d, int64_t capacity, cudaStream_t s) {
        const dim3 grid(static_cast<unsigned>(q_heads + 2 * kv_heads), static_cast<unsigned>(batch * tokens));
        rope_rows_kernel<T><<<grid, 128, 0, s>>>(static_cast<const T*>(qkv), static_cast<const T*>(cos),
                                                 static_cast<const T*>(sin), static_cast<T*>(q_out),
                                                 static_cast<T*>(k_cache), static_cast<T*>(v_cache), tokens, past,
                                                 q_heads, kv_heads, d, capacity);
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
                                 int version, cudaStream_t s) {
        if (version == kAttentionV2) {
            const int64_t slots = 8 * 32 / (d / Vec<T>::n);  // 8 warps, d / n lanes per key
            decode_attention_vec_kernel<T><<<static_cast<unsigned>(q_heads), 256, (capacity + slots * d) * sizeof(float), s>>>(
                static_cast<const T*>(q), static_cast<const T*>(k_cache), static_cast<const T*>(v_cache), position,
                static_cast<T*>(out), q_heads, kv_heads, static_cast<int>(d), capacity, scale);
            return;
        }
        decode_attention_kernel<T><<<static_cast<unsigned>(q_heads), 256, capacity * sizeof(float), s>>>(
            static_cast<const T*>(q), static_cast<const T*>(k_cache), static_cast<const T*>(v_cache), position,
            static_cast<T*>(out), q_heads, kv_heads, d, capacity, scale);
    }
    static void silu_mul(const void* gate_up, void* out, int64_t n, int64_t rows, cudaStream_t s) {
        silu_mul_kernel<T><<<blocks_for(n * rows, 256), 256, 0, s>>>(static_cast<const T*>(gate_up),
                                                                    static_cast<T*>(out), n, rows);
    }
};

template <template <typename> class F, typename Fn>
void by_dtype(int dtype, Fn&& fn) {
    if (dtype == 0) fn(F<float>{});
    else if (dtype == 1) fn(F<__half>{});
    else fn(F<__nv_bfloat16>{});
}

}  // namespace

void group_gemv(const GemvGroup& g, const void* x, void* y, int64_t cols, int dtype, cudaStream_t stream,
                int version) {
    if (version == kGemvV2) {
        group_linear_v2(g, LoraGroup{}, x, y, nullptr, cols, dtype, stream);
        return;
    }
    by_dtype<Launch>(dtype, [&](auto l) { l.group_gemv(g, x, y, cols, stream); });
}

void group_linear_v2(const GemvGroup& g, const LoraGroup& lora, const void* x, void* y, float* t, int64_t cols,
                     int dtype, cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) { l.group_linear_v2(g, lora, x, y, t, cols, stream); });
}

void nf4_dequantize(const void* packed, const float* scales, const float* codebook, void* out, int64_t n,
                    int64_t blocksize, int dtype, cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) { l.nf4_dequantize(packed, scales, codebook, out, n, blocksize, stream); });
}

void lora_shrink_rows(const LoraGroup& l, int count, const void* x, float* t, int64_t rows, int64_t cols, int dtype,
                      cudaStream_t stream) {
    ShrinkMap m{};
    int J = 0;
    for (int s = 0; s < count; ++s)
        if (l.A[s])
            for (int64_t j = 0; j < l.r; ++j) m.a[J++] = l.A[s] + j * cols;
    if (J == 0 || rows == 0) return;
    by_dtype<Launch>(dtype, [&](auto L) { L.lora_shrink_rows(m, J, x, t, rows, cols, stream); });
}

void lora_expand_rows(const GemvGroup& g, const LoraGroup& lora, const int64_t* t_offset, const float* t,
                      int64_t t_stride, void* y, int64_t rows, int dtype, cudaStream_t stream) {
    TOffsets off{};
    for (int s = 0; s < g.count; ++s) off.v[s] = t_offset[s];
    by_dtype<Launch>(dtype, [&](auto l) { l.lora_expand_rows(g, lora, off, t, t_stride, y, rows, stream); });
}

void rope_rows(const void* qkv, const void* cos, const void* sin, void* q_out, void* k_cache, void* v_cache,
               int64_t batch, int64_t tokens, int64_t past, int64_t q_heads, int64_t kv_heads, int64_t d,
               int64_t capacity, int dtype, cudaStream_t stream) {
    by_dtype<Launch>(dtype, [&](auto l) {
        l.rope_rows(qkv, cos, sin, q_out, k_cache, v_cache, batch, tokens, past, q_heads, kv_heads, d, capacity, stream);
    });
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
                      cudaStream_t stream, int version) {
    by_dtype<Launch>(dtype, [&](auto l) {
        l.decode_attention(q, k_cache, v_cache, position, out, q_heads, kv_heads, d, capacity, scale, version, stream);
    });
}

void silu_mul(const void* gate_up, void* out, int64_t n, int dtype, cudaStream_t stream, int64_t rows) {
    by_dtype<Launch>(dtype, [&](auto l) { l.silu_mul(gate_up, out, n, rows, stream); });
}

}  // namespace troupe::llama::cuda
