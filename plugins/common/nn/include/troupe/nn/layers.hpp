// troupe/nn/layers.hpp — the basic PyTorch layers as torch::nn::Modules whose parameters carry PyTorch's
// names (`weight`, `bias`), so a module tree built with the reference implementation's submodule names
// (register_module) loads a reference state dict by name with load_weights().
#pragma once

#include <troupe/ssl/encoder.hpp>  // WeightSource

#include <ATen/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <string>

namespace troupe::nn {

/// nn.Linear: y = x Wᵀ + b. `weight` [out, in], optional `bias` [out].
class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(int64_t in, int64_t out, bool bias = true);
    at::Tensor forward(const at::Tensor& x) const;
    const at::Tensor& weight() const { return weight_; }
    const at::Tensor& bias() const { return bias_; }

private:
    at::Tensor weight_, bias_;
};

/// nn.LayerNorm over the last dimension, with affine `weight` and `bias`.
class LayerNormImpl : public torch::nn::Module {
public:
    explicit LayerNormImpl(int64_t dim, double eps = 1e-5);
    at::Tensor forward(const at::Tensor& x) const;

private:
    int64_t dim_;
    double eps_;
    at::Tensor weight_, bias_;
};

/// nn.Conv1d on [B, C, T]. `weight` [out, in/groups, k], optional `bias` [out].
class Conv1dImpl : public torch::nn::Module {
public:
    Conv1dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
               int64_t dilation = 1, int64_t groups = 1, bool bias = true);
    at::Tensor forward(const at::Tensor& x) const;

private:
    at::Tensor weight_, bias_;
    int64_t stride_, padding_, dilation_, groups_;
};

/// nn.Embedding: `weight` [num, dim]; forward looks ids up.
class EmbeddingImpl : public torch::nn::Module {
public:
    EmbeddingImpl(int64_t num, int64_t dim);
    at::Tensor forward(const at::Tensor& ids) const;
    const at::Tensor& weight() const { return weight_; }

private:
    at::Tensor weight_;
};

/// Copies every parameter and buffer of `module` from `weights`, looking each up as `prefix + name`
/// (names as module.named_parameters() gives them, e.g. "encoder.layers.0.fc1.weight"), converted to the
/// module's dtype, then moves the module to `device` and `dtype`. Throws Error(invalid_file) naming
/// weights.describe and the tensor on a missing tensor or a shape mismatch.
void load_weights(torch::nn::Module& module, const ssl::WeightSource& weights, const std::string& prefix,
                  c10::Device device, c10::ScalarType dtype);

/// "[a, b, c]" for error messages.
std::string shape_str(at::IntArrayRef shape);

}  // namespace troupe::nn
