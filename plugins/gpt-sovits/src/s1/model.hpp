// s1/model.hpp — the S1 GPT of GPT-SoVITS v2 (upstream AR/models/t2s_model.py Text2SemanticDecoder)
// as torch::nn modules whose parameter names are upstream's state_dict keys (without `model.`):
//
//   bert_proj (Linear bert_dim→d), ar_text_embedding.word_embeddings, ar_text_position.alpha,
//   ar_audio_embedding.word_embeddings, ar_audio_position.alpha,
//   h.layers.{i}.{self_attn.{in_proj_weight,in_proj_bias,out_proj}, linear1, linear2, norm1, norm2},
//   ar_predict_layer (no bias).
//
// Post-LN layers (x = LN1(x + attn); x = LN2(x + W2 relu(W1 x))), packed Q|K|V projection,
// sine positional encodings scaled by a learned alpha, separate positions for text and audio (both
// from 0). Dropouts (0.1 in layers and positions, model.dropout on embeddings) apply in train mode.
#pragma once

#include "linear.hpp"
#include "s1/config.hpp"

#include <ATen/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace troupe::sovits::s1 {

using sovits::LinearImpl;  // nn.Linear (linear.hpp)

/// nn.LayerNorm over the last dim: weight, bias.
class LayerNormImpl : public torch::nn::Module {
public:
    LayerNormImpl(int64_t dim, double eps);
    at::Tensor forward(const at::Tensor& x) const;

private:
    int64_t dim_;
    double eps_;
    at::Tensor weight_, bias_;
};

/// AR/modules/embedding.py TokenEmbedding: `word_embeddings` (nn.Embedding) then dropout.
class TokenEmbeddingImpl : public torch::nn::Module {
public:
    TokenEmbeddingImpl(int64_t vocab, int64_t dim, double dropout);
    at::Tensor forward(const at::Tensor& ids);
    /// The embedding rows (vocab, dim).
    const at::Tensor& table() const { return weight_; }

private:
    std::shared_ptr<torch::nn::Module> word_embeddings_;
    at::Tensor weight_;
    double dropout_;
};

/// SinePositionalEmbedding(scale=False, alpha=True): x + alpha * pe[start : start + L].
/// pe[p, 2i] = sin(p * exp(-2i ln(10000)/d)), pe[p, 2i+1] = cos(...), computed in float32.
class SinePositionalEmbeddingImpl : public torch::nn::Module {
public:
    SinePositionalEmbeddingImpl(int64_t dim, double dropout);
    /// x (B, L, d) → x + alpha * pe[start : start + L].
    at::Tensor forward(const at::Tensor& x, int64_t start = 0);
    /// pe rows [start, start + len) as (len, d) float32 on `device`.
    at::Tensor table(int64_t start, int64_t len, const c10::Device& device);
    /// x (B, L, d) → x + alpha * pe[positions], positions (L) int64 on x's device; the rows are
    /// computed there from the positions (no host round trip: static-shape decode steps).
    at::Tensor forward_at(const at::Tensor& x, const at::Tensor& positions);
    const at::Tensor& alpha() const { return alpha_; }

private:
    int64_t dim_;
    double dropout_;
    at::Tensor alpha_;
    at::Tensor pe_;        // cached float32 table, grown on demand (not a parameter or buffer, as upstream)
    at::Tensor div_term_;  // exp(-2i ln(10000)/d), float32, cached on the last device used
};

/// Keys and values of every layer for the positions seen so far, in preallocated buffers
/// (B, capacity, d) per layer that grow by doubling; positions [0, length()) are filled.
struct KVCache {
    std::vector<at::Tensor> k, v;
    int64_t len = 0;
    int64_t reserve = 256;  // extra positions allocated beyond the prefill
    int64_t length() const { return len; }
    int64_t capacity() const { return k.empty() || !k.front().defined() ? 0 : k.front().size(1); }
    /// Keeps only the batch rows `rows` (int64 indices) of every layer.
    void select_rows(const at::Tensor& rows);
    /// Zero-filled buffers (batch, capacity, dim) for `layers` layers, len 0: a static-capacity
    /// cache (transform never regrows it while capacity suffices; transform_at never does).
    static KVCache allocate(size_t layers, int64_t batch, int64_t capacity, int64_t dim, const at::TensorOptions& options);
};

/// nn.MultiheadAttention's parameter layout (in_proj_weight packed Q|K|V, out_proj), batch-first.
class SelfAttentionImpl : public torch::nn::Module {
public:
    SelfAttentionImpl(int64_t dim, int64_t heads, double dropout);
    /// x (B, L, d). `blocked` (L, S) or per row (B, L, S) bool, true = may not attend (undefined =
    /// attend to all).
    /// With a cache (buffers *k, *v of (B, capacity, d), `past` positions filled), this call's K/V
    /// are written at [past, past + L) (growing the buffers if needed) and attention covers
    /// [0, past + L).
    at::Tensor forward(const at::Tensor& x, const at::Tensor& blocked, at::Tensor* k_cache = nullptr,
                       at::Tensor* v_cache = nullptr, int64_t past = 0, int64_t reserve = 0);
    /// Static shapes: this call's K/V are written into k_buf/v_buf (B, capacity, d) at `positions`
    /// (L) int64 on the device, and attention covers all `capacity` positions; `bias` (L, capacity)
    /// or (B, L, capacity), x's dtype, is added to the scores: -inf at the positions not yet valid.
    at::Tensor forward_at(const at::Tensor& x, const at::Tensor& bias, at::Tensor& k_buf, at::Tensor& v_buf,
                          const at::Tensor& positions);

private:
    at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& blocked);

    int64_t dim_, heads_;
    double dropout_;
    at::Tensor in_proj_weight_, in_proj_bias_;
    std::shared_ptr<LinearImpl> out_proj_;
};

/// TransformerEncoderLayer(norm_first=False, ReLU, FFN 4d).
class DecoderLayerImpl : public torch::nn::Module {
public:
    DecoderLayerImpl(int64_t dim, int64_t heads, int64_t ffn, double dropout, double eps);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& blocked, at::Tensor* k_cache = nullptr,
                       at::Tensor* v_cache = nullptr, int64_t past = 0, int64_t reserve = 0);
    /// Static shapes (see SelfAttentionImpl::forward_at; `bias` additive, 0 / -inf).
    at::Tensor forward_at(const at::Tensor& x, const at::Tensor& bias, at::Tensor& k_buf, at::Tensor& v_buf,
                          const at::Tensor& positions);

private:
    at::Tensor feed_forward(const at::Tensor& x, const at::Tensor& attn);

    double dropout_;
    std::shared_ptr<SelfAttentionImpl> self_attn_;
    std::shared_ptr<LinearImpl> linear1_, linear2_;
    std::shared_ptr<LayerNormImpl> norm1_, norm2_;
};

class Text2SemanticDecoderImpl : public torch::nn::Module {
public:
    explicit Text2SemanticDecoderImpl(const S1Config& config);
    const S1Config& config() const { return config_; }

    /// Text side: word embedding + bert_proj(bert^T) + alpha_text * pe[:N]. phone_ids (B, N) int64;
    /// bert (B, bert_dim, N) or undefined (= zeros, as upstream does for every language but zh).
    at::Tensor embed_text(const at::Tensor& phone_ids, const at::Tensor& bert);
    /// Audio side: word embedding + alpha_audio * pe[start : start + T]. codes (B, T) int64.
    at::Tensor embed_audio(const at::Tensor& codes, int64_t start = 0);
    /// The same at positions (T) int64 on the model's device (static-shape decode steps).
    at::Tensor embed_audio_at(const at::Tensor& codes, const at::Tensor& positions);
    /// The prefill mask (N + T, N + T), true = blocked: text rows see all text and no audio; audio
    /// rows see all text and the audio up to themselves.
    static at::Tensor prefill_mask(int64_t n_text, int64_t n_audio, const c10::Device& device);

    /// All layers over xy (B, L, d) with `blocked` (L, S) or (B, L, S). With a cache: prefill (empty cache) or
    /// continue (appends this call's positions). Returns the hidden states (B, L, d).
    at::Tensor transform(const at::Tensor& xy, const at::Tensor& blocked, KVCache* cache = nullptr);
    /// All layers with static shapes: this call's K/V are written into the cache buffers at
    /// `positions` (L) int64 on the device, and attention covers every buffer position, so
    /// `blocked` (L, capacity) or (B, L, capacity) must mask those not yet valid. The buffers are
    /// never reallocated and `cache.len` is left alone (s1/decode_graph.hpp).
    at::Tensor transform_at(const at::Tensor& xy, const at::Tensor& blocked, KVCache& cache, const at::Tensor& positions);
    /// ar_predict_layer: (…, d) → (…, vocab_size).
    at::Tensor predict(const at::Tensor& hidden);

    /// One full-sequence forward over [text | codes] with the prefill mask (the training forward);
    /// logits (B, 1 + T, vocab) at positions N-1 … N+T-1 (row j predicts audio token j).
    at::Tensor forward(const at::Tensor& phone_ids, const at::Tensor& bert, const at::Tensor& codes);

    /// Copies weights (upstream names, `model.` already stripped) into the parameters, converting
    /// dtype; every parameter must be present with its shape and no key may be left over.
    void load_state(const StateDict& state, const std::string& source);

    /// Upstream key of every parameter (for weight tables and tests).
    std::vector<std::string> parameter_names() const;

private:
    S1Config config_;
    std::shared_ptr<LinearImpl> bert_proj_;
    std::shared_ptr<TokenEmbeddingImpl> ar_text_embedding_, ar_audio_embedding_;
    std::shared_ptr<SinePositionalEmbeddingImpl> ar_text_position_, ar_audio_position_;
    std::shared_ptr<torch::nn::Module> h_;
    std::vector<std::shared_ptr<DecoderLayerImpl>> layers_;
    std::shared_ptr<LinearImpl> ar_predict_layer_;
};

/// An S1 model read from an upstream `.ckpt` (torch.save zip: weight + config) or from a
/// `.safetensors` file with the same key names (its config from `<stem>_config.json` beside it, or
/// the upstream defaults). Weights are converted to `dtype` on `device`; eval mode.
struct LoadedS1 {
    S1Config config;
    std::shared_ptr<Text2SemanticDecoderImpl> model;
    std::string source;
};
LoadedS1 load_s1(const std::string& path, const c10::Device& device = c10::Device(c10::kCPU),
                 at::ScalarType dtype = at::kFloat);

}  // namespace troupe::sovits::s1
