#include "model.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <cmath>
#include <functional>
#include <limits>

namespace troupe::whisper {
namespace {

/// A plain container module whose children are registered as "0", "1", … (nn.ModuleList's names).
template <class Layer>
std::vector<std::shared_ptr<Layer>> register_list(torch::nn::Module& parent, const char* name, int64_t n,
                                                  const std::function<std::shared_ptr<Layer>()>& make) {
    auto list = parent.register_module(name, std::make_shared<torch::nn::Module>());
    std::vector<std::shared_ptr<Layer>> out;
    for (int64_t i = 0; i < n; ++i) out.push_back(list->register_module(std::to_string(i), make()));
    return out;
}

}  // namespace

// ---- attention -------------------------------------------------------------------------------------------------

AttentionImpl::AttentionImpl(int64_t d_model, int64_t heads) : heads_(heads), head_dim_(d_model / heads) {
    k_proj_ = register_module("k_proj", std::make_shared<nn::LinearImpl>(d_model, d_model, false));
    v_proj_ = register_module("v_proj", std::make_shared<nn::LinearImpl>(d_model, d_model));
    q_proj_ = register_module("q_proj", std::make_shared<nn::LinearImpl>(d_model, d_model));
    out_proj_ = register_module("out_proj", std::make_shared<nn::LinearImpl>(d_model, d_model));
}

at::Tensor AttentionImpl::split(const at::Tensor& x) const {
    return x.view({x.size(0), x.size(1), heads_, head_dim_}).transpose(1, 2);
}
at::Tensor AttentionImpl::query(const at::Tensor& x) const { return split(q_proj_->forward(x)); }
at::Tensor AttentionImpl::key(const at::Tensor& x) const { return split(k_proj_->forward(x)); }
at::Tensor AttentionImpl::value(const at::Tensor& x) const { return split(v_proj_->forward(x)); }

at::Tensor AttentionImpl::attend(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) const {
    at::Tensor w = at::matmul(q, k.transpose(2, 3)) * (1.0 / std::sqrt(double(head_dim_)));
    if (mask.defined()) w = w + mask;
    w = at::softmax(w, -1, at::kFloat).to(v.scalar_type());
    at::Tensor o = at::matmul(w, v).transpose(1, 2).contiguous();  // [B, L, H, Dh]
    return out_proj_->forward(o.view({o.size(0), o.size(1), heads_ * head_dim_}));
}

// ---- layers ----------------------------------------------------------------------------------------------------

EncoderLayerImpl::EncoderLayerImpl(int64_t d, int64_t heads, int64_t ffn) {
    self_attn_ = register_module("self_attn", std::make_shared<AttentionImpl>(d, heads));
    self_attn_layer_norm_ = register_module("self_attn_layer_norm", std::make_shared<nn::LayerNormImpl>(d));
    fc1_ = register_module("fc1", std::make_shared<nn::LinearImpl>(d, ffn));
    fc2_ = register_module("fc2", std::make_shared<nn::LinearImpl>(ffn, d));
    final_layer_norm_ = register_module("final_layer_norm", std::make_shared<nn::LayerNormImpl>(d));
}

at::Tensor EncoderLayerImpl::forward(const at::Tensor& x) const {
    const at::Tensor h = self_attn_layer_norm_->forward(x);
    at::Tensor y = x + self_attn_->attend(self_attn_->query(h), self_attn_->key(h), self_attn_->value(h), {});
    return y + fc2_->forward(at::gelu(fc1_->forward(final_layer_norm_->forward(y))));
}

DecoderLayerImpl::DecoderLayerImpl(int64_t d, int64_t heads, int64_t ffn) {
    self_attn_ = register_module("self_attn", std::make_shared<AttentionImpl>(d, heads));
    self_attn_layer_norm_ = register_module("self_attn_layer_norm", std::make_shared<nn::LayerNormImpl>(d));
    encoder_attn_ = register_module("encoder_attn", std::make_shared<AttentionImpl>(d, heads));
    encoder_attn_layer_norm_ = register_module("encoder_attn_layer_norm", std::make_shared<nn::LayerNormImpl>(d));
    fc1_ = register_module("fc1", std::make_shared<nn::LinearImpl>(d, ffn));
    fc2_ = register_module("fc2", std::make_shared<nn::LinearImpl>(ffn, d));
    final_layer_norm_ = register_module("final_layer_norm", std::make_shared<nn::LayerNormImpl>(d));
}

KeyValue DecoderLayerImpl::cross_kv(const at::Tensor& encoder_out) const {
    return {encoder_attn_->key(encoder_out), encoder_attn_->value(encoder_out)};
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, KeyValue& self_kv, const KeyValue& cross,
                                     const at::Tensor& mask) const {
    at::Tensor h = self_attn_layer_norm_->forward(x);
    at::Tensor k = self_attn_->key(h), v = self_attn_->value(h);
    if (self_kv.k.defined()) {
        k = at::cat({self_kv.k, k}, 2);
        v = at::cat({self_kv.v, v}, 2);
    }
    self_kv = {k, v};
    at::Tensor y = x + self_attn_->attend(self_attn_->query(h), k, v, mask);
    h = encoder_attn_layer_norm_->forward(y);
    y = y + encoder_attn_->attend(encoder_attn_->query(h), cross.k, cross.v, {});
    return y + fc2_->forward(at::gelu(fc1_->forward(final_layer_norm_->forward(y))));
}

// ---- encoder / decoder -----------------------------------------------------------------------------------------

EncoderImpl::EncoderImpl(const ModelConfig& c) : c_(c) {
    conv1_ = register_module("conv1", std::make_shared<nn::Conv1dImpl>(c.num_mel_bins, c.d_model, 3, 1, 1));
    conv2_ = register_module("conv2", std::make_shared<nn::Conv1dImpl>(c.d_model, c.d_model, 3, 2, 1));
    embed_positions_ = register_module("embed_positions", std::make_shared<nn::EmbeddingImpl>(c.max_source_positions, c.d_model));
    layers_ = register_list<EncoderLayerImpl>(*this, "layers", c.encoder_layers, [&] {
        return std::make_shared<EncoderLayerImpl>(c.d_model, c.encoder_heads, c.encoder_ffn);
    });
    layer_norm_ = register_module("layer_norm", std::make_shared<nn::LayerNormImpl>(c.d_model));
}

at::Tensor EncoderImpl::forward(const at::Tensor& features) const {
    const int64_t expected = 2 * c_.max_source_positions;
    if (features.dim() != 3 || features.size(1) != c_.num_mel_bins || features.size(2) != expected)
        throw Error(Errc::invalid_argument, fmt::format("whisper encoder: features are {}, expected [B, {}, {}]",
                                                        nn::shape_str(features.sizes()), c_.num_mel_bins, expected));
    at::Tensor x = at::gelu(conv1_->forward(features));
    x = at::gelu(conv2_->forward(x)).permute({0, 2, 1});
    x = x + embed_positions_->weight().narrow(0, 0, x.size(1));
    for (const auto& layer : layers_) x = layer->forward(x);
    return layer_norm_->forward(x);
}

DecoderImpl::DecoderImpl(const ModelConfig& c) : c_(c) {
    embed_tokens_ = register_module("embed_tokens", std::make_shared<nn::EmbeddingImpl>(c.vocab_size, c.d_model));
    embed_positions_ = register_module("embed_positions", std::make_shared<nn::EmbeddingImpl>(c.max_target_positions, c.d_model));
    layers_ = register_list<DecoderLayerImpl>(*this, "layers", c.decoder_layers, [&] {
        return std::make_shared<DecoderLayerImpl>(c.d_model, c.decoder_heads, c.decoder_ffn);
    });
    layer_norm_ = register_module("layer_norm", std::make_shared<nn::LayerNormImpl>(c.d_model));
}

DecoderCache DecoderImpl::start(const at::Tensor& encoder_out) const {
    DecoderCache cache;
    cache.self.resize(layers_.size());
    for (const auto& layer : layers_) cache.cross.push_back(layer->cross_kv(encoder_out));
    return cache;
}

at::Tensor DecoderImpl::forward(const at::Tensor& ids, DecoderCache& cache) const {
    const int64_t L = ids.size(1), past = cache.length;
    if (past + L > c_.max_target_positions)
        throw Error(Errc::invalid_argument, fmt::format("whisper decoder: {} positions exceed max_target_positions {}",
                                                        past + L, c_.max_target_positions));
    at::Tensor x = embed_tokens_->forward(ids);
    if (c_.scale_embedding) x = x * std::sqrt(double(c_.d_model));
    x = x + embed_positions_->weight().narrow(0, past, L);
    at::Tensor mask;
    if (L > 1) {  // query i (position past + i) sees keys 0 … past + i
        mask = at::full({L, past + L}, -std::numeric_limits<float>::infinity(), x.options()).triu(past + 1);
    }
    for (size_t i = 0; i < layers_.size(); ++i) x = layers_[i]->forward(x, cache.self[i], cache.cross[i], mask);
    cache.length = past + L;
    return layer_norm_->forward(x);
}

WhisperModelImpl::WhisperModelImpl(const ModelConfig& c) {
    encoder = register_module("encoder", std::make_shared<EncoderImpl>(c));
    decoder = register_module("decoder", std::make_shared<DecoderImpl>(c));
}

// ---- the whole model -------------------------------------------------------------------------------------------

WhisperForConditionalGeneration::WhisperForConditionalGeneration(const ModelConfig& c, bool tied) : c_(c) {
    model_ = register_module("model", std::make_shared<WhisperModelImpl>(c));
    if (!tied) proj_out_ = register_module("proj_out", std::make_shared<nn::LinearImpl>(c.d_model, c.vocab_size, false));
}

std::shared_ptr<WhisperForConditionalGeneration> WhisperForConditionalGeneration::load_dir(const std::string& dir,
                                                                                           const LoadOptions& options) {
    const ModelConfig c = ModelConfig::read(dir + "/config.json");
    const ssl::WeightSource weights = ssl::weights_from_dir(dir);
    // A separate output projection only when the config unties it and the file has one.
    const bool tied = c.tie_word_embeddings || !weights.contains("proj_out.weight");
    auto m = std::make_shared<WhisperForConditionalGeneration>(c, tied);
    // Some exports store the bare WhisperModel (no "model." prefix).
    const std::string prefix = weights.contains("model.decoder.embed_tokens.weight") ? "" : "bare";
    if (prefix == "bare") {
        if (!weights.contains("decoder.embed_tokens.weight"))
            throw Error(Errc::invalid_file, fmt::format("{}: missing tensor 'model.decoder.embed_tokens.weight' (not a Whisper checkpoint?)",
                                                        weights.describe));
        nn::load_weights(*m->model_, weights, "", options.device, options.dtype);
        if (m->proj_out_) nn::load_weights(*m->proj_out_, weights, "proj_out.", options.device, options.dtype);
    } else {
        nn::load_weights(*m, weights, "", options.device, options.dtype);
    }
    m->eval();
    m->device_ = options.device;
    m->dtype_ = options.dtype;
    return m;
}

at::Tensor WhisperForConditionalGeneration::encode(const at::Tensor& features) const {
    return model_->encoder->forward(features.to(device_, dtype_));
}

at::Tensor WhisperForConditionalGeneration::decode(DecoderCache& cache, const at::Tensor& ids) const {
    const at::Tensor h = model_->decoder->forward(ids.to(device_, at::kLong), cache);
    const at::Tensor& w = proj_out_ ? proj_out_->weight() : model_->decoder->embed_weight();
    return at::linear(h, w).to(at::kFloat);
}

void WhisperForConditionalGeneration::reorder(DecoderCache& cache, const at::Tensor& rows) {
    for (KeyValue& kv : cache.self) {
        const at::Tensor r = rows.to(kv.k.device(), at::kLong);
        kv.k = kv.k.index_select(0, r);
        kv.v = kv.v.index_select(0, r);
    }
}

}  // namespace troupe::whisper
