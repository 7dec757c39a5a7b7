// model.hpp — transformers' WhisperForConditionalGeneration in LibTorch (eval mode): the conv + transformer
// encoder over log-mel features and the token decoder with a key/value cache. The module tree carries the
// reference's submodule names, so the HF state dict loads by name ("model.encoder.layers.0.fc1.weight", …);
// the output projection is tied to model.decoder.embed_tokens unless the folder says otherwise.
#pragma once

#include "config.hpp"

#include <troupe/nn/layers.hpp>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace troupe::whisper {

/// WhisperAttention: q/v/out projections with bias, k without; scaled dot product, softmax in float32.
class AttentionImpl : public torch::nn::Module {
public:
    AttentionImpl(int64_t d_model, int64_t heads);
    /// [B, L, D] -> [B, H, L, Dh]
    at::Tensor query(const at::Tensor& x) const;
    at::Tensor key(const at::Tensor& x) const;
    at::Tensor value(const at::Tensor& x) const;
    /// softmax(q kᵀ · Dh^-½ + mask) v, heads merged and projected: [B, Lq, D]. `mask` [Lq, Lk] additive or undefined.
    at::Tensor attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) const;

private:
    int64_t heads_, head_dim_;
    std::shared_ptr<nn::LinearImpl> q_proj_, k_proj_, v_proj_, out_proj_;
    at::Tensor split(const at::Tensor& x) const;
};

class EncoderLayerImpl : public torch::nn::Module {
public:
    EncoderLayerImpl(int64_t d_model, int64_t heads, int64_t ffn);
    at::Tensor forward(const at::Tensor& x) const;

private:
    std::shared_ptr<AttentionImpl> self_attn_;
    std::shared_ptr<nn::LayerNormImpl> self_attn_layer_norm_, final_layer_norm_;
    std::shared_ptr<nn::LinearImpl> fc1_, fc2_;
};

/// One cached attention input: keys and values [rows, H, T, Dh].
struct KeyValue {
    at::Tensor k, v;
};

/// The decoder's running state: per layer the self-attention cache (grows by one position per step) and the
/// cross-attention keys/values of the encoder output (computed once).
struct DecoderCache {
    std::vector<KeyValue> self, cross;
    int64_t length = 0;  // positions already decoded
};

class DecoderLayerImpl : public torch::nn::Module {
public:
    DecoderLayerImpl(int64_t d_model, int64_t heads, int64_t ffn);
    KeyValue cross_kv(const at::Tensor& encoder_out) const;
    /// x [B, L, D]; appends this step's keys/values to `self_kv`; `mask` is the causal mask for L > 1.
    at::Tensor forward(const at::Tensor& x, KeyValue& self_kv, const KeyValue& cross, const at::Tensor& mask) const;

private:
    std::shared_ptr<AttentionImpl> self_attn_, encoder_attn_;
    std::shared_ptr<nn::LayerNormImpl> self_attn_layer_norm_, encoder_attn_layer_norm_, final_layer_norm_;
    std::shared_ptr<nn::LinearImpl> fc1_, fc2_;
};

class EncoderImpl : public torch::nn::Module {
public:
    explicit EncoderImpl(const ModelConfig& c);
    /// features [B, n_mels, 2·max_source_positions] -> [B, max_source_positions, D]
    at::Tensor forward(const at::Tensor& features) const;

private:
    ModelConfig c_;
    std::shared_ptr<nn::Conv1dImpl> conv1_, conv2_;
    std::shared_ptr<nn::EmbeddingImpl> embed_positions_;
    std::vector<std::shared_ptr<EncoderLayerImpl>> layers_;
    std::shared_ptr<nn::LayerNormImpl> layer_norm_;
};

class DecoderImpl : public torch::nn::Module {
public:
    explicit DecoderImpl(const ModelConfig& c);
    DecoderCache start(const at::Tensor& encoder_out) const;
    /// Hidden states [B, L, D] of `ids` [B, L] at positions cache.length…; updates the cache.
    at::Tensor forward(const at::Tensor& ids, DecoderCache& cache) const;
    const at::Tensor& embed_weight() const { return embed_tokens_->weight(); }

private:
    ModelConfig c_;
    std::shared_ptr<nn::EmbeddingImpl> embed_tokens_, embed_positions_;
    std::vector<std::shared_ptr<DecoderLayerImpl>> layers_;
    std::shared_ptr<nn::LayerNormImpl> layer_norm_;
};

/// WhisperModel: `encoder` and `decoder`.
class WhisperModelImpl : public torch::nn::Module {
public:
    explicit WhisperModelImpl(const ModelConfig& c);
    std::shared_ptr<EncoderImpl> encoder;
    std::shared_ptr<DecoderImpl> decoder;
};

struct LoadOptions {
    c10::Device device = c10::Device(c10::kCPU);
    c10::ScalarType dtype = c10::kFloat;
};

/// The whole model: `model` (+ `proj_out` when it is not tied).
class WhisperForConditionalGeneration : public torch::nn::Module {
public:
    /// config.json + the weights of `dir` (model.safetensors, shards with an index, or pytorch_model.bin).
    /// Throws Error naming the file and the tensor when one is missing or has the wrong shape.
    static std::shared_ptr<WhisperForConditionalGeneration> load_dir(const std::string& dir, const LoadOptions& options);

    explicit WhisperForConditionalGeneration(const ModelConfig& c, bool tied);
    const ModelConfig& config() const { return c_; }
    c10::Device device() const { return device_; }
    c10::ScalarType dtype() const { return dtype_; }

    /// Encoder output [B, T, D] of log-mel features [B, n_mels, frames] (frames must be 2·max_source_positions).
    at::Tensor encode(const at::Tensor& features) const;
    /// A fresh decoder cache over `encoder_out` (its rows are the decoding rows).
    DecoderCache start(const at::Tensor& encoder_out) const { return model_->decoder->start(encoder_out); }
    /// Logits [B, L, vocab] (float32) of `ids` [B, L] appended to the cache.
    at::Tensor decode(DecoderCache& cache, const at::Tensor& ids) const;
    /// Keeps the self-attention cache rows `rows` (beam reordering; the cross-attention rows stay as they are,
    /// so `rows` must only move rows between beams of the same input).
    static void reorder(DecoderCache& cache, const at::Tensor& rows);

private:
    ModelConfig c_;
    std::shared_ptr<WhisperModelImpl> model_;
    std::shared_ptr<nn::LinearImpl> proj_out_;  // null when tied
    c10::Device device_ = c10::Device(c10::kCPU);
    c10::ScalarType dtype_ = c10::kFloat;
};

}  // namespace troupe::whisper
