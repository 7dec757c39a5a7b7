// s2/style_encoder.hpp — modules.MelStyleEncoder: the global style vector `ge` of a reference
// linear spectrogram (its first n_in bins).
#pragma once

#include "s2/layers.hpp"

#include <vector>

namespace troupe::sovits::s2 {

/// modules.Conv1dGLU: conv1.conv (C → 2C, k, same padding), x1·sigmoid(x2) + residual.
class Conv1dGLUImpl : public torch::nn::Module {
public:
    Conv1dGLUImpl(int64_t channels, int64_t kernel, double p_dropout);
    at::Tensor forward(const at::Tensor& x) const;

private:
    int64_t channels_;
    double p_dropout_;
    std::shared_ptr<ConvImpl> conv_;
};

/// modules.MultiHeadAttention (the style encoder's own): w_qs/w_ks/w_vs/fc Linear layers,
/// scores / sqrt(d_model) (not sqrt(d_k)), masked with −inf, residual added inside.
class StyleAttentionImpl : public torch::nn::Module {
public:
    StyleAttentionImpl(int64_t n_heads, int64_t d_model, int64_t d_k, int64_t d_v, double p_dropout);
    /// x (B, T, d_model); mask (B, T, T) bool, true = blocked, or undefined.
    at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) const;

private:
    int64_t n_heads_, d_model_, d_k_, d_v_;
    double p_dropout_;
    std::shared_ptr<LinearImpl> w_qs_, w_ks_, w_vs_, fc_;
};

struct StyleEncoderSpec {
    int64_t in_dim = 704, hidden = 128, out_dim = 512, kernel = 5, n_heads = 2;
    double p_dropout = 0.1;
};

class MelStyleEncoderImpl : public torch::nn::Module {
public:
    explicit MelStyleEncoderImpl(const StyleEncoderSpec& spec);
    /// x (B, in_dim, T), mask (B, 1, T) float (1 = valid) or undefined → (B, out_dim, 1).
    at::Tensor forward(const at::Tensor& x, const at::Tensor& mask) const;
    const StyleEncoderSpec& spec() const { return spec_; }

private:
    StyleEncoderSpec spec_;
    std::shared_ptr<LinearNormImpl> spectral0_, spectral3_, fc_;
    std::vector<std::shared_ptr<Conv1dGLUImpl>> temporal_;
    std::shared_ptr<StyleAttentionImpl> slf_attn_;
};

}  // namespace troupe::sovits::s2
