// s2/attention.hpp — VITS-style attention blocks of SoVITS (upstream module/attentions.py):
// multi-head attention with 1×1 convolutions and optional shared relative-position embeddings,
// the convolutional FFN, and the post-LN Encoder stack.
#pragma once

#include "s2/layers.hpp"

#include <optional>
#include <vector>

namespace troupe::sovits::s2 {

/// attentions.MultiHeadAttention: conv_q/k/v/o; with `window` set, emb_rel_k/emb_rel_v of shape
/// (1, 2·window+1, channels/heads) (heads_share). Scores scaled by 1/sqrt(d_k) on the query,
/// masked with −1e4 where mask == 0.
class MultiHeadAttentionImpl : public torch::nn::Module {
public:
    MultiHeadAttentionImpl(int64_t channels, int64_t out_channels, int64_t n_heads, double p_dropout,
                           std::optional<int64_t> window);
    /// x (B, C, T_t) queries, c (B, C, T_s) keys/values, mask broadcastable to (B, H, T_t, T_s) or undefined.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& c, const at::Tensor& mask) const;

private:
    at::Tensor attention(at::Tensor q, at::Tensor k, at::Tensor v, const at::Tensor& mask) const;
    at::Tensor relative_embeddings(const at::Tensor& table, int64_t length) const;

    int64_t channels_, n_heads_, k_channels_;
    double p_dropout_;
    std::optional<int64_t> window_;
    std::shared_ptr<ConvImpl> conv_q_, conv_k_, conv_v_, conv_o_;
    at::Tensor emb_rel_k_, emb_rel_v_;
};

/// attentions.FFN: conv_1 (k, "same" padding (k-1)/2 | k/2) → ReLU → conv_2, masking before each conv.
class FFNImpl : public torch::nn::Module {
public:
    FFNImpl(int64_t in, int64_t out, int64_t filter, int64_t kernel, double p_dropout);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& x_mask) const;

private:
    at::Tensor pad(const at::Tensor& x) const;
    int64_t kernel_;
    double p_dropout_;
    std::shared_ptr<ConvImpl> conv_1_, conv_2_;
};

/// attentions.Encoder: n_layers × (relative MHA → LN(x+y) → FFN → LN(x+y)), window 4.
class EncoderImpl : public torch::nn::Module {
public:
    EncoderImpl(int64_t hidden, int64_t filter, int64_t n_heads, int64_t n_layers, int64_t kernel, double p_dropout,
                int64_t window = 4);
    /// x (B, C, T), x_mask (B, 1, T).
    at::Tensor forward(at::Tensor x, const at::Tensor& x_mask) const;

private:
    double p_dropout_;
    std::vector<std::shared_ptr<MultiHeadAttentionImpl>> attn_;
    std::vector<std::shared_ptr<ChannelLayerNormImpl>> norm1_, norm2_;
    std::vector<std::shared_ptr<FFNImpl>> ffn_;
};

}  // namespace troupe::sovits::s2
