// fused_ops_kernels.cuh — raw-pointer launchers of the fused decode kernels (nvcc compiles only
// fused_ops_kernels.cu; no ATen there). dtype codes: 0 float32, 1 float16, 2 bfloat16.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace troupe::llama::cuda {

inline constexpr int kMaxGroup = 3;

/// Up to three weight matrices that read the same input; their outputs are stacked in one vector.
/// Dense: weight[s] is T [rows[s], cols]. NF4: weight[s] holds the packed codes (element i in byte
/// i/2, high nibble first), scales[s] one float per `blocksize` elements, codebook 16 floats.
struct GemvGroup {
    const void* weight[kMaxGroup] = {};
    const float* scales[kMaxGroup] = {};
    int64_t rows[kMaxGroup] = {};
    int count = 0;
    bool nf4 = false;
    const float* codebook = nullptr;
    int64_t blocksize = 64;
};

/// Which batch-1 GEMV kernels group_gemv/group_lora run: 1 = a warp per row, LoRA in two more
/// launches (the original kernels); 2 = several rows per warp sharing each 16-byte activation load,
/// NF4 through a 256-entry pair table (one lookup per code byte), the LoRA expand folded into the
/// GEMV's epilogue (shrink + GEMV = two launches).
inline constexpr int kGemvV1 = 1, kGemvV2 = 2;

/// The LoRA pairs of a GemvGroup (A[s] float32 [r, cols], B[s] float32 [rows[s], r]; null = none).
struct LoraGroup {
    const float* A[kMaxGroup] = {};
    const float* B[kMaxGroup] = {};
    float scaling[kMaxGroup] = {};
    int64_t r = 0;
};

/// y = [W_0; W_1; …] · x (cols values; rows 16-byte aligned) with kernel `version` (kGemvV1/V2).
void group_gemv(const GemvGroup& g, const void* x, void* y, int64_t cols, int dtype, cudaStream_t stream,
                int version = kGemvV1);
/// y[o] = T(y[o] + scaling · B · (A · x)) for the rows of every segment with a LoRA pair, in place;
/// t is float32 scratch of kMaxGroup · r values.
void group_lora(const GemvGroup& g, const LoraGroup& l, const void* x, void* y, float* t, int64_t cols, int dtype,
                cudaStream_t stream);
/// Version 2 in one call: t = A · x (one launch), then y = T(T(W · x) + scaling · B · t) per row
/// (one launch; rows without a LoRA pair get T(W · x)). `l.r` = 0: the GEMV alone.
void group_linear_v2(const GemvGroup& g, const LoraGroup& l, const void* x, void* y, float* t, int64_t cols,
                     int dtype, cudaStream_t stream);

// ---- prefill (many rows) ----

/// out [n] (dtype T) = codebook[code i] · scales[i / blocksize]: an NF4 weight (packed as in
/// GemvGroup, n a multiple of 32, blocksize a multiple of 32) dequantized in one pass.
void nf4_dequantize(const void* packed, const float* scales, const float* codebook, void* out, int64_t n,
                    int64_t blocksize, int dtype, cudaStream_t stream);
/// The LoRA shrink of `rows` rows at once: t [rows, J] (float32) with J = r · (segments with an A),
/// t[i, k·r + j] = A_s[j, :] · x[i, :] for the k-th segment s with an A (x [rows, cols] in T).
void lora_shrink_rows(const LoraGroup& l, int count, const void* x, float* t, int64_t rows, int64_t cols, int dtype,
                      cudaStream_t stream);
/// The LoRA expand of `rows` rows at once: y [rows, Σ g.rows] (T) and t [rows, t_stride] (float32,
/// segment s's r values at t_offset[s]); y[i, o] = T(y[i, o] + scaling · B[o, :] · t[i, …]) for the
/// segments with a B.
void lora_expand_rows(const GemvGroup& g, const LoraGroup& l, const int64_t* t_offset, const float* t,
                      int64_t t_stride, void* y, int64_t rows, int dtype, cudaStream_t stream);
/// RoPE over T positions of B sequences: qkv [B, T, (q_heads + 2 kv_heads) · d] → q_out
/// [B, q_heads, T, d] rotated; k rotated and v copied into the caches [B, kv_heads, capacity, d] at
/// positions past .. past + T − 1. cos/sin [T, d].
void rope_rows(const void* qkv, const void* cos, const void* sin, void* q_out, void* k_cache, void* v_cache,
               int64_t batch, int64_t tokens, int64_t past, int64_t q_heads, int64_t kv_heads, int64_t d,
               int64_t capacity, int dtype, cudaStream_t stream);

/// out[r, :] = weight * T(x[r, :] * rsqrt(mean(x[r, :]²) + eps)), statistics in float32.
void rms_norm(const void* x, const void* weight, void* out, int64_t rows, int64_t n, float eps, int dtype,
              cudaStream_t stream);

/// From qkv = [q (q_heads·d) | k (kv_heads·d) | v (kv_heads·d)] of one position: q rotated into
/// q_out; k rotated and v copied into the caches ([kv_heads, capacity, d]) at *position.
void rope_into_cache(const void* qkv, const void* cos, const void* sin, const int64_t* position, void* q_out,
                     void* k_cache, void* v_cache, int64_t q_heads, int64_t kv_heads, int64_t d, int64_t capacity,
                     int dtype, cudaStream_t stream);

/// Which kernel decode_attention runs: 1 = one warp per key in element loads; 2 = a key spread over
/// d·sizeof(T)/16 lanes in 16-byte loads, which needs that lane count to be a power of two ≤ 32 and
/// 16-byte-aligned q and caches (the caller checks).
inline constexpr int kAttentionV1 = 1, kAttentionV2 = 2;

/// Attention of one query position over the cached keys 0..*position: out [q_heads·d]; query head h
/// reads kv head h / (q_heads / kv_heads). Scores rounded to T, softmax in float32, as transformers.
void decode_attention(const void* q, const void* k_cache, const void* v_cache, const int64_t* position, void* out,
                      int64_t q_heads, int64_t kv_heads, int64_t d, int64_t capacity, float scale, int dtype,
                      cudaStream_t stream, int version = kAttentionV1);

/// out[r, i] = T(T(silu(gate[r, i])) · up[r, i]) with gate_up[r] = [gate (n) | up (n)], r < rows.
void silu_mul(const void* gate_up, void* out, int64_t n, int dtype, cudaStream_t stream, int64_t rows = 1);

}  // namespace troupe::llama::cuda
