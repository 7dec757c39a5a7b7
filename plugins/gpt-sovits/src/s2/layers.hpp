// s2/layers.hpp — the basic layers of SoVITS (S2): 1-D convolutions with optional weight norm,
// transposed convolutions, channel LayerNorm, Linear and Embedding, all as torch::nn modules whose
// parameter names follow upstream's state_dict (GPT_SoVITS/module/*.py).
//
// Weight norm: a layer built with `weight_norm = true` owns `weight_g`/`weight_v` (trainable, as
// upstream); built without it, it owns a plain `weight`, and load_state() folds a checkpoint's
// `weight_g`/`weight_v` into it (w = g·v/‖v‖, norm over every dim except 0) — the inference path.
#pragma once

#include "linear.hpp"

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <map>
#include <string>

namespace troupe::sovits::s2 {

/// Tensors by upstream key name (any float dtype, any device); the loaded state of a checkpoint.
using StateDict = std::map<std::string, at::Tensor>;

struct ConvSpec {
    int64_t in = 0, out = 0, kernel = 1, stride = 1, padding = 0, dilation = 1;
    bool bias = true;
    bool weight_norm = false;
};

/// Conv1d (weight (out, in, k)) or ConvTranspose1d (weight (in, out, k); weight-norm dim 0 = in).
class ConvImpl : public torch::nn::Module {
public:
    ConvImpl(const ConvSpec& spec, bool transposed);
    at::Tensor forward(const at::Tensor& x) const;
    /// The effective weight (g·v/‖v‖ when weight-normed).
    at::Tensor weight() const;
    const ConvSpec& spec() const { return spec_; }

private:
    ConvSpec spec_;
    bool transposed_;
    at::Tensor weight_, weight_g_, weight_v_, bias_;
};

/// Upstream nn.Conv1d(in, out, k, stride, padding, dilation, bias).
std::shared_ptr<ConvImpl> conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                                 int64_t dilation = 1, bool bias = true, bool weight_norm = false);
/// Upstream nn.ConvTranspose1d(in, out, k, stride, padding).
std::shared_ptr<ConvImpl> conv_transpose1d(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                           int64_t padding, bool weight_norm = false);

/// modules.LayerNorm: LayerNorm over the channel dim of (B, C, T); parameters `gamma`, `beta`.
class ChannelLayerNormImpl : public torch::nn::Module {
public:
    explicit ChannelLayerNormImpl(int64_t channels, double eps = 1e-5);
    at::Tensor forward(const at::Tensor& x) const;

private:
    int64_t channels_;
    double eps_;
    at::Tensor gamma_, beta_;
};

using sovits::LinearImpl;  // nn.Linear (linear.hpp)

/// modules.LinearNorm: a Linear registered as `fc`.
class LinearNormImpl : public torch::nn::Module {
public:
    LinearNormImpl(int64_t in, int64_t out, bool bias = true);
    at::Tensor forward(const at::Tensor& x) const { return fc_->forward(x); }

private:
    std::shared_ptr<LinearImpl> fc_;
};

/// nn.Embedding (weight (num, dim)).
class EmbeddingImpl : public torch::nn::Module {
public:
    EmbeddingImpl(int64_t num, int64_t dim);
    at::Tensor forward(const at::Tensor& ids) const;
    int64_t num() const { return weight_.size(0); }

private:
    at::Tensor weight_;
};

/// A parameter-free module used as a placeholder in module lists (Flip, Mish, Dropout slots), so
/// that list indices match upstream's nn.Sequential / ModuleList numbering.
class PlaceholderImpl : public torch::nn::Module {};

/// Dropout that is active only in training mode.
at::Tensor train_dropout(const at::Tensor& x, double p, bool training);

/// Loads `module`'s parameters and buffers from `state` (names prefixed by `prefix`, e.g. "dec.").
/// A plain `X.weight` missing from `state` is folded from `X.weight_g`/`X.weight_v`. Values are
/// converted to each parameter's dtype and device. Throws Error(invalid_file) naming `source` and
/// the key on a missing key or a shape mismatch.
void load_state(torch::nn::Module& module, const StateDict& state, const std::string& prefix,
                const std::string& source);

/// Whether `state` holds `key` (convenience for optional parts).
inline bool has_key(const StateDict& state, const std::string& key) { return state.count(key) != 0; }

}  // namespace troupe::sovits::s2
