#include "s2/attention.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include <algorithm>
#include <cmath>

namespace troupe::sovits::s2 {
namespace {

// x [b, h, l, 2l-1] (relative) → [b, h, l, l] (absolute), upstream's pad-and-reshape trick.
at::Tensor relative_to_absolute(const at::Tensor& x) {
    const int64_t b = x.size(0), h = x.size(1), l = x.size(2);
    at::Tensor t = at::constant_pad_nd(x, {0, 1});
    t = t.reshape({b, h, l * 2 * l});
    t = at::constant_pad_nd(t, {0, l - 1});
    return t.view({b, h, l + 1, 2 * l - 1}).slice(2, 0, l).slice(3, l - 1);
}

// x [b, h, l, l] (absolute) → [b, h, l, 2l-1] (relative).
at::Tensor absolute_to_relative(const at::Tensor& x) {
    const int64_t b = x.size(0), h = x.size(1), l = x.size(2);
    at::Tensor t = at::constant_pad_nd(x, {0, l - 1});
    t = t.reshape({b, h, l * l + l * (l - 1)});
    t = at::constant_pad_nd(t, {l, 0});
    return t.view({b, h, l, 2 * l}).slice(3, 1);
}

}  // namespace

// ---- MultiHeadAttention ------------------------------------------------------------------------

MultiHeadAttentionImpl::MultiHeadAttentionImpl(int64_t channels, int64_t out_channels, int64_t n_heads,
                                               double p_dropout, std::optional<int64_t> window)
    : channels_(channels), n_heads_(n_heads), k_channels_(channels / n_heads), p_dropout_(p_dropout), window_(window) {
    conv_q_ = register_module("conv_q", conv1d(channels, channels, 1));
    conv_k_ = register_module("conv_k", conv1d(channels, channels, 1));
    conv_v_ = register_module("conv_v", conv1d(channels, channels, 1));
    conv_o_ = register_module("conv_o", conv1d(channels, out_channels, 1));
    if (window_) {
        const double stddev = 1.0 / std::sqrt(double(k_channels_));
        emb_rel_k_ = register_parameter("emb_rel_k", at::randn({1, 2 * *window_ + 1, k_channels_}) * stddev);
        emb_rel_v_ = register_parameter("emb_rel_v", at::randn({1, 2 * *window_ + 1, k_channels_}) * stddev);
    }
}

at::Tensor MultiHeadAttentionImpl::forward(const at::Tensor& x, const at::Tensor& c, const at::Tensor& mask) const {
    at::Tensor out = attention(conv_q_->forward(x), conv_k_->forward(c), conv_v_->forward(c), mask);
    return conv_o_->forward(out);
}

at::Tensor MultiHeadAttentionImpl::relative_embeddings(const at::Tensor& table, int64_t length) const {
    const int64_t w = *window_;
    const int64_t pad_length = std::max<int64_t>(length - (w + 1), 0);
    const int64_t start = std::max<int64_t>((w + 1) - length, 0);
    const int64_t end = start + 2 * length - 1;
    at::Tensor padded = pad_length > 0 ? at::constant_pad_nd(table, {0, 0, pad_length, pad_length}) : table;
    return padded.slice(1, start, end);
}

at::Tensor MultiHeadAttentionImpl::attention(at::Tensor query, at::Tensor key, at::Tensor value,
                                             const at::Tensor& mask) const {
    const int64_t b = key.size(0), d = key.size(1), t_s = key.size(2), t_t = query.size(2);
    query = query.view({b, n_heads_, k_channels_, t_t}).transpose(2, 3);
    key = key.view({b, n_heads_, k_channels_, t_s}).transpose(2, 3);
    value = value.view({b, n_heads_, k_channels_, t_s}).transpose(2, 3);

    const at::Tensor scaled_query = query / std::sqrt(double(k_channels_));
    at::Tensor scores = at::matmul(scaled_query, key.transpose(-2, -1));
    if (window_) {
        TORCH_CHECK(t_s == t_t, "relative attention is only available for self-attention");
        at::Tensor rel_k = relative_embeddings(emb_rel_k_, t_s);
        at::Tensor rel_logits = at::matmul(scaled_query, rel_k.unsqueeze(0).transpose(-2, -1));
        scores = scores + relative_to_absolute(rel_logits);
    }
    if (mask.defined()) scores = scores.masked_fill(mask == 0, -1e4);
    at::Tensor p_attn = at::softmax(scores, -1);
    p_attn = train_dropout(p_attn, p_dropout_, is_training());
    at::Tensor output = at::matmul(p_attn, value);
    if (window_) {
        at::Tensor rel_weights = absolute_to_relative(p_attn);
        at::Tensor rel_v = relative_embeddings(emb_rel_v_, t_s);
        output = output + at::matmul(rel_weights, rel_v.unsqueeze(0));
    }
    return output.transpose(2, 3).contiguous().view({b, d, t_t});
}

// ---- FFN ---------------------------------------------------------------------------------------

FFNImpl::FFNImpl(int64_t in, int64_t out, int64_t filter, int64_t kernel, double p_dropout)
    : kernel_(kernel), p_dropout_(p_dropout) {
    conv_1_ = register_module("conv_1", conv1d(in, filter, kernel));
    conv_2_ = register_module("conv_2", conv1d(filter, out, kernel));
}

at::Tensor FFNImpl::pad(const at::Tensor& x) const {
    if (kernel_ == 1) return x;
    return at::constant_pad_nd(x, {(kernel_ - 1) / 2, kernel_ / 2});
}

at::Tensor FFNImpl::forward(const at::Tensor& x, const at::Tensor& x_mask) const {
    at::Tensor h = conv_1_->forward(pad(x * x_mask));
    h = at::relu(h);
    h = train_dropout(h, p_dropout_, is_training());
    h = conv_2_->forward(pad(h * x_mask));
    return h * x_mask;
}

// ---- Encoder -----------------------------------------------------------------------------------

EncoderImpl::EncoderImpl(int64_t hidden, int64_t filter, int64_t n_heads, int64_t n_layers, int64_t kernel,
                         double p_dropout, int64_t window)
    : p_dropout_(p_dropout) {
    auto attn_list = register_module("attn_layers", torch::nn::ModuleList());
    auto norm1_list = register_module("norm_layers_1", torch::nn::ModuleList());
    auto ffn_list = register_module("ffn_layers", torch::nn::ModuleList());
    auto norm2_list = register_module("norm_layers_2", torch::nn::ModuleList());
    for (int64_t i = 0; i < n_layers; ++i) {
        attn_.push_back(std::make_shared<MultiHeadAttentionImpl>(hidden, hidden, n_heads, p_dropout, window));
        norm1_.push_back(std::make_shared<ChannelLayerNormImpl>(hidden));
        ffn_.push_back(std::make_shared<FFNImpl>(hidden, hidden, filter, kernel, p_dropout));
        norm2_.push_back(std::make_shared<ChannelLayerNormImpl>(hidden));
        attn_list->push_back(attn_.back());
        norm1_list->push_back(norm1_.back());
        ffn_list->push_back(ffn_.back());
        norm2_list->push_back(norm2_.back());
    }
}

at::Tensor EncoderImpl::forward(at::Tensor x, const at::Tensor& x_mask) const {
    const at::Tensor attn_mask = x_mask.unsqueeze(2) * x_mask.unsqueeze(-1);
    x = x * x_mask;
    for (size_t i = 0; i < attn_.size(); ++i) {
        at::Tensor y = attn_[i]->forward(x, x, attn_mask);
        y = train_dropout(y, p_dropout_, is_training());
        x = norm1_[i]->forward(x + y);
        y = ffn_[i]->forward(x, x_mask);
        y = train_dropout(y, p_dropout_, is_training());
        x = norm2_[i]->forward(x + y);
    }
    return x * x_mask;
}

}  // namespace troupe::sovits::s2
