#include <troupe/nn/layers.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

namespace troupe::nn {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool bias) {
    weight_ = register_parameter("weight", at::zeros({out, in}), false);
    if (bias) bias_ = register_parameter("bias", at::zeros({out}), false);
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const { return at::linear(x, weight_, bias_); }

LayerNormImpl::LayerNormImpl(int64_t dim, double eps) : dim_(dim), eps_(eps) {
    weight_ = register_parameter("weight", at::ones({dim}), false);
    bias_ = register_parameter("bias", at::zeros({dim}), false);
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) const { return at::layer_norm(x, {dim_}, weight_, bias_, eps_); }

Conv1dImpl::Conv1dImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                       int64_t groups, bool bias)
    : stride_(stride), padding_(padding), dilation_(dilation), groups_(groups) {
    weight_ = register_parameter("weight", at::zeros({out, in / groups, kernel}), false);
    if (bias) bias_ = register_parameter("bias", at::zeros({out}), false);
}

at::Tensor Conv1dImpl::forward(const at::Tensor& x) const {
    return at::conv1d(x, weight_, bias_, {stride_}, {padding_}, {dilation_}, groups_);
}

EmbeddingImpl::EmbeddingImpl(int64_t num, int64_t dim) {
    weight_ = register_parameter("weight", at::zeros({num, dim}), false);
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) const { return at::embedding(weight_, ids); }

std::string shape_str(at::IntArrayRef shape) { return fmt::format("[{}]", fmt::join(shape.begin(), shape.end(), ", ")); }

void load_weights(torch::nn::Module& module, const ssl::WeightSource& weights, const std::string& prefix,
                  c10::Device device, c10::ScalarType dtype) {
    c10::NoGradGuard no_grad;
    auto assign = [&](const std::string& name, at::Tensor& target) {
        const std::string key = prefix + name;
        if (!weights.contains(key))
            throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}'", weights.describe, key));
        at::Tensor value = weights.get(key);
        if (value.sizes() != target.sizes())
            throw Error(Errc::invalid_file, fmt::format("{}: tensor '{}' has shape {}, expected {}", weights.describe,
                                                        key, shape_str(value.sizes()), shape_str(target.sizes())));
        target.copy_(value.to(target.scalar_type()));
    };
    for (auto& item : module.named_parameters(true)) assign(item.key(), item.value());
    for (auto& item : module.named_buffers(true)) assign(item.key(), item.value());
    module.to(device, dtype);
}

}  // namespace troupe::nn
