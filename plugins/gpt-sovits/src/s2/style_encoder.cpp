#include "s2/style_encoder.hpp"

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cmath>
#include <limits>

namespace troupe::sovits::s2 {
namespace {

at::Tensor mish_activation(const at::Tensor& x) { return x * at::tanh(at::softplus(x)); }

// A module holding one conv as `conv` (modules.ConvNorm).
class ConvNormImpl : public torch::nn::Module {
public:
    explicit ConvNormImpl(std::shared_ptr<ConvImpl> conv) { register_module("conv", std::move(conv)); }
};

}  // namespace

Conv1dGLUImpl::Conv1dGLUImpl(int64_t channels, int64_t kernel, double p_dropout)
    : channels_(channels), p_dropout_(p_dropout) {
    conv_ = conv1d(channels, 2 * channels, kernel, 1, (kernel - 1) / 2);
    register_module("conv1", std::make_shared<ConvNormImpl>(conv_));
}

at::Tensor Conv1dGLUImpl::forward(const at::Tensor& x) const {
    at::Tensor h = conv_->forward(x);
    auto parts = at::split(h, channels_, 1);
    h = parts[0] * at::sigmoid(parts[1]);
    return x + train_dropout(h, p_dropout_, is_training());
}

StyleAttentionImpl::StyleAttentionImpl(int64_t n_heads, int64_t d_model, int64_t d_k, int64_t d_v, double p_dropout)
    : n_heads_(n_heads), d_model_(d_model), d_k_(d_k), d_v_(d_v), p_dropout_(p_dropout) {
    w_qs_ = register_module("w_qs", std::make_shared<LinearImpl>(d_model, n_heads * d_k));
    w_ks_ = register_module("w_ks", std::make_shared<LinearImpl>(d_model, n_heads * d_k));
    w_vs_ = register_module("w_vs", std::make_shared<LinearImpl>(d_model, n_heads * d_v));
    fc_ = register_module("fc", std::make_shared<LinearImpl>(n_heads * d_v, d_model));
}

at::Tensor StyleAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask) const {
    const int64_t b = x.size(0), t = x.size(1);
    at::Tensor q = w_qs_->forward(x).view({b, t, n_heads_, d_k_}).permute({2, 0, 1, 3}).contiguous().view({-1, t, d_k_});
    at::Tensor k = w_ks_->forward(x).view({b, t, n_heads_, d_k_}).permute({2, 0, 1, 3}).contiguous().view({-1, t, d_k_});
    at::Tensor v = w_vs_->forward(x).view({b, t, n_heads_, d_v_}).permute({2, 0, 1, 3}).contiguous().view({-1, t, d_v_});
    at::Tensor attn = at::bmm(q, k.transpose(1, 2)) / std::pow(double(d_model_), 0.5);
    if (mask.defined()) attn = attn.masked_fill(mask.repeat({n_heads_, 1, 1}), -std::numeric_limits<double>::infinity());
    attn = at::softmax(attn, 2);
    attn = train_dropout(attn, p_dropout_, is_training());
    at::Tensor out = at::bmm(attn, v);
    out = out.view({n_heads_, b, t, d_v_}).permute({1, 2, 0, 3}).contiguous().view({b, t, -1});
    return train_dropout(fc_->forward(out), p_dropout_, is_training()) + x;
}

MelStyleEncoderImpl::MelStyleEncoderImpl(const StyleEncoderSpec& s) : spec_(s) {
    // nn.Sequential(LinearNorm, Mish, Dropout, LinearNorm, Mish, Dropout): parameters at 0 and 3.
    auto spectral = register_module("spectral", torch::nn::ModuleList());
    spectral0_ = std::make_shared<LinearNormImpl>(s.in_dim, s.hidden);
    spectral3_ = std::make_shared<LinearNormImpl>(s.hidden, s.hidden);
    spectral->push_back(spectral0_);
    spectral->push_back(std::make_shared<PlaceholderImpl>());
    spectral->push_back(std::make_shared<PlaceholderImpl>());
    spectral->push_back(spectral3_);
    spectral->push_back(std::make_shared<PlaceholderImpl>());
    spectral->push_back(std::make_shared<PlaceholderImpl>());
    auto temporal = register_module("temporal", torch::nn::ModuleList());
    for (int i = 0; i < 2; ++i) {
        temporal_.push_back(std::make_shared<Conv1dGLUImpl>(s.hidden, s.kernel, s.p_dropout));
        temporal->push_back(temporal_.back());
    }
    slf_attn_ = register_module("slf_attn", std::make_shared<StyleAttentionImpl>(s.n_heads, s.hidden, s.hidden / s.n_heads,
                                                                                 s.hidden / s.n_heads, s.p_dropout));
    fc_ = register_module("fc", std::make_shared<LinearNormImpl>(s.hidden, s.out_dim));
}

at::Tensor MelStyleEncoderImpl::forward(const at::Tensor& input, const at::Tensor& mask_in) const {
    at::Tensor x = input.transpose(1, 2);
    const int64_t max_len = x.size(1);
    at::Tensor mask, slf_attn_mask;
    if (mask_in.defined()) {
        mask = (mask_in.to(at::kInt) == 0).squeeze(1);  // (B, T), true = padding
        slf_attn_mask = mask.unsqueeze(1).expand({-1, max_len, -1});
    }
    x = train_dropout(mish_activation(spectral0_->forward(x)), spec_.p_dropout, is_training());
    x = train_dropout(mish_activation(spectral3_->forward(x)), spec_.p_dropout, is_training());
    x = x.transpose(1, 2);
    for (const auto& glu : temporal_) x = glu->forward(x);
    x = x.transpose(1, 2);
    if (mask.defined()) x = x.masked_fill(mask.unsqueeze(-1), 0);
    x = slf_attn_->forward(x, slf_attn_mask);
    x = fc_->forward(x);
    // Temporal average pooling (masked): x / len summed over time.
    at::Tensor w;
    if (!mask.defined()) {
        w = x.mean(1);
    } else {
        at::Tensor len = mask.logical_not().sum(1).unsqueeze(1);  // (B, 1)
        const auto dtype = x.scalar_type();
        at::Tensor xf = x.masked_fill(mask.unsqueeze(-1), 0).to(at::kFloat);
        xf = xf / len.unsqueeze(1);
        w = xf.sum(1).to(dtype);
    }
    return w.unsqueeze(-1);
}

}  // namespace troupe::sovits::s2
