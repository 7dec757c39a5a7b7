// model.hpp — a Hugging Face Llama-architecture causal LM (LlamaForCausalLM) in LibTorch, with the
// math of transformers' modeling_llama.py: RMSNorm in float32, rotate_half RoPE, GQA, causal
// attention with a float32 softmax, SiLU-gated MLP, untied lm_head, KV cache. Linear layers are
// dense (f32/bf16/f16) or NF4; LoRA adapters are applied unmerged per call (see adapter.hpp).
//
// Everything runs under autograd unless the caller disables it, so the same code serves training:
// LoRA A/B tensors that require grad receive gradients through forward().
#pragma once

#include "config.hpp"
#include "nf4.hpp"

#include <ATen/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace troupe::llama {

class Adapter;

struct LoadOptions {
    std::string device = "cpu";    // "cpu", "cuda", "cuda:N"
    std::string dtype;             // "float32" | "bfloat16" | "float16"; empty = config torch_dtype
    std::string quantize = "none"; // "none" | "nf4" (linear layers of the decoder only)
    bool double_quant = true;      // NF4: quantize the block scales too
    int64_t nf4_blocksize = 64;
};

/// One LoRA pair for a linear layer: y += scaling * (x Aᵀ) Bᵀ, A [r, in], B [out, r].
struct LoraWeights {
    at::Tensor A, B;
    double scaling = 1.0;
    bool defined() const { return A.defined(); }
};

/// A bias-free (or biased) linear layer whose weight is dense or NF4.
struct Linear {
    std::string module;            // "model.layers.0.self_attn.q_proj"
    int64_t in = 0, out = 0;
    at::Tensor weight;             // [out, in] in the compute dtype; undefined when nf4
    std::shared_ptr<const Nf4Weight> nf4;
    at::Tensor bias;               // optional [out]
    at::Tensor nf4_scales;         // float32 block scales for the CUDA NF4 GEMV (set on CUDA only)

    /// The weight as a dense tensor (dequantized for NF4).
    at::Tensor dense(at::ScalarType dtype) const;
    /// x Wᵀ + b, plus the LoRA term when `lora` is given (computed in the adapter's dtype, as PEFT does).
    at::Tensor forward(const at::Tensor& x, const LoraWeights* lora = nullptr) const;
};

/// Keys and values of every layer for one batch of sequences, preallocated to `capacity` positions
/// (grown on demand). Bound to the adapter it was filled with: LoRA changes K and V.
struct KVCache {
    std::vector<at::Tensor> k, v;  // per layer [B, kv_heads, capacity, head_dim]
    int64_t length = 0;
    int64_t capacity = 0;
    void clear() { length = 0; }
    /// Grows every layer's tensors (keeping positions 0..length) so `positions` fit.
    void reserve(int64_t positions);
};

/// Whether Model::forward runs without autograd through the prefill path (model_prefill.cpp: grouped
/// GEMMs over all prompt rows — q/k/v and gate/up as one GEMM where their weights share a buffer —
/// each group's LoRA pairs as two skinny GEMMs, NF4 dequantized once per call on CUDA, RoPE and the
/// cache write in one kernel, SDPA) rather than the per-projection layer code training uses.
/// Default: on, on every device (the llama conformance suite passes through it on the CPU and on
/// CUDA); TROUPE_PREFILL=legacy (or set_fast_prefill(false)) turns it off (benchmarks compare both).
bool fast_prefill();
void set_fast_prefill(bool on);

/// Optional intermediate outputs: "embed_tokens", "layer{i}" (residual stream after layer i), "final_norm".
struct Trace {
    std::vector<std::pair<std::string, at::Tensor>> items;
    at::Tensor get(const std::string& name) const;
};

struct ForwardOptions {
    const Adapter* adapter = nullptr;  // LoRA to apply unmerged; null = base model
    KVCache* cache = nullptr;          // null = no cache (positions start at 0)
    Trace* trace = nullptr;
    bool last_only = false;            // compute logits for the last position only
};

struct Layer {
    at::Tensor input_norm, post_attention_norm;
    std::vector<Linear> proj;  // indexed by arch::Proj
};

class Model {
public:
    /// Loads an HF model folder (config.json, safetensors shards or model.safetensors). Weight
    /// shapes are checked against the config; pre-quantized bitsandbytes NF4 linears are detected.
    static Model load(const std::string& dir, const LoadOptions& options = {});

    const LlamaConfig& config() const { return config_; }
    at::Device device() const { return device_; }
    at::ScalarType dtype() const { return dtype_; }
    bool quantized() const { return quantized_; }
    /// "dir (float32, cpu, nf4)" for reports.
    std::string describe() const;

    /// ids: int64 [B, T] or [T]. Returns float32 logits [B, T, vocab] (or [B, 1, vocab] with last_only).
    at::Tensor forward(const at::Tensor& ids, const ForwardOptions& options = {}) const;
    /// forward() without cache: the training entry point (autograd flows into LoRA tensors).
    at::Tensor logits(const at::Tensor& ids, const Adapter* adapter = nullptr) const;

    // Building blocks (for training code that checkpoints per layer).
    at::Tensor embed(const at::Tensor& ids) const;
    /// cos, sin [T, head_dim] in the compute dtype for absolute positions `positions` (int64 [T]).
    std::pair<at::Tensor, at::Tensor> rope(const at::Tensor& positions) const;
    at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight) const;
    /// One decoder layer. `mask` is additive [T, S] or undefined (no masking needed).
    at::Tensor decoder_layer(int64_t index, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin,
                             const at::Tensor& mask, const Adapter* adapter, KVCache* cache) const;
    /// Final norm + lm_head, float32 logits.
    at::Tensor head(const at::Tensor& h) const;

    /// One batch-1 decode step whose shapes never change (so it can be captured in a CUDA graph):
    /// `id` int64 [1, 1] and `position` int64 [1] are device tensors; K/V are written at `position`
    /// and attention spans the whole cache capacity, keys after `position` masked. `cache.length`
    /// is not touched. Returns float32 logits [vocab]. `fused` = run it with the fused CUDA kernels
    /// (fused_ops.hpp), only where decode_step_fusable() said so.
    at::Tensor decode_step(const at::Tensor& id, const at::Tensor& position, KVCache& cache, const Adapter* adapter,
                           bool fused = false) const;
    /// One decode step for a batch whose rows each have their own LoRA adapter (or none) and their
    /// own position: `ids` int64 [B, 1], `positions` int64 [B] (device tensors), `adapters` one per
    /// row (null = base model; they must belong to this model). K/V of row b are written at
    /// positions[b] of its cache row; attention spans the cache capacity with the keys after
    /// positions[b] masked. LoRA terms are gathered per adapter (the rows sharing one adapter go
    /// through its A/B together, as Punica/S-LoRA group them). `cache.length` is not touched.
    /// Returns float32 logits [B, vocab].
    at::Tensor decode_rows(const at::Tensor& ids, const at::Tensor& positions, KVCache& cache,
                           const std::vector<const Adapter*>& adapters) const;
    /// True when every layer's step can run on the fused CUDA kernels (CUDA build and device, no grad,
    /// no biases, supported shapes and dtypes).
    bool decode_step_fusable(const KVCache& cache, const Adapter* adapter) const;

    KVCache new_cache(int64_t batch, int64_t capacity) const;

    /// A copy with `adapter` folded into the targeted weights (W + scaling·B·A); NF4 weights are
    /// dequantized, merged and re-quantized like PEFT's merge on a 4-bit base. Other tensors are shared.
    Model merged(const Adapter& adapter) const;

    int64_t linear_count() const { return static_cast<int64_t>(layers_.size()) * 7; }
    const Linear& linear(int64_t index) const;
    /// Index of a linear module path ("model.layers.2.mlp.up_proj"), or -1.
    int64_t linear_index(const std::string& module) const;
    /// Bytes held by all weights (packed NF4 counted as stored).
    int64_t weight_bytes() const;

    // Training support (model_train.cpp).
    /// A randomly initialised model as transformers initialises LlamaForCausalLM (normal(0, 0.02)
    /// linears and embeddings, unit norms). `config.dir` is ignored.
    static Model create(const LlamaConfig& config, const LoadOptions& options, uint64_t seed);
    /// Every dense weight by its Hugging Face name (the live tensors; tied lm_head listed once).
    std::vector<std::pair<std::string, at::Tensor>> named_weights() const;
    /// Replaces memory-mapped weights by private copies, so they can be trained in place.
    void own_weights();
    /// Writes config.json, generation_config.json and model.safetensors into `dir`; tensors are
    /// stored as `storage` (F32, or F16/BF16 to halve the size) and config.json says float32.
    void save(const std::string& dir, at::ScalarType storage = at::kFloat) const;

private:
    // The two halves of a decoder layer around attention: q, k, v [B, heads, T, head_dim] with
    // RoPE applied; then o_proj, the residual and the MLP.
    std::tuple<at::Tensor, at::Tensor, at::Tensor> attention_inputs(int64_t index, const at::Tensor& h,
                                                                    const at::Tensor& cos, const at::Tensor& sin,
                                                                    const Adapter* adapter,
                                                                    const std::vector<const Adapter*>* rows = nullptr) const;
    at::Tensor attention_output(int64_t index, const at::Tensor& h, const at::Tensor& attn, const Adapter* adapter,
                                const std::vector<const Adapter*>* rows = nullptr) const;
    // decoder_layer for inference (model_prefill.cpp; see fast_prefill()).
    at::Tensor prefill_layer(int64_t index, const at::Tensor& h, const at::Tensor& cos, const at::Tensor& sin,
                             const at::Tensor& mask, const Adapter* adapter, KVCache* cache) const;
    // Projection `p` of layer `index`: with `adapter`, or per row of x with `rows` (see decode_rows).
    at::Tensor project(int64_t index, int p, const at::Tensor& x, const Adapter* adapter,
                       const std::vector<const Adapter*>* rows) const;

    LlamaConfig config_;
    at::Device device_{at::kCPU};
    at::ScalarType dtype_ = at::kFloat;
    bool quantized_ = false;
    std::string quant_desc_;
    at::Tensor embed_tokens_, final_norm_, inv_freq_;
    Linear lm_head_;
    std::vector<Layer> layers_;
    LoadOptions nf4_options_;
};

/// "cpu" / "cuda" / "cuda:1" → device; throws Error(invalid_argument) for anything else or if CUDA
/// is unavailable.
at::Device parse_device(const std::string& text);
/// "float32"/"fp32"/"bfloat16"/"bf16"/"float16"/"fp16" → dtype; throws Error(invalid_argument).
at::ScalarType parse_dtype(const std::string& text);

}  // namespace troupe::llama
