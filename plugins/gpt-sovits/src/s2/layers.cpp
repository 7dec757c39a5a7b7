#include "s2/layers.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <cmath>

namespace troupe::sovits::s2 {
namespace {

at::Tensor uniform(at::IntArrayRef shape, double bound) {
    return at::empty(shape, at::kFloat).uniform_(-bound, bound);
}

std::string shape_str(at::IntArrayRef s) {
    std::string out = "(";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + ")";
}

}  // namespace

at::Tensor train_dropout(const at::Tensor& x, double p, bool training) {
    if (!training || p <= 0) return x;
    return at::dropout(x, p, true);
}

// ---- ConvImpl ----------------------------------------------------------------------------------

ConvImpl::ConvImpl(const ConvSpec& spec, bool transposed) : spec_(spec), transposed_(transposed) {
    // PyTorch's default init: kaiming_uniform(a=sqrt(5)) → U(±1/sqrt(fan_in)); fan_in uses dim 1.
    std::vector<int64_t> shape = transposed ? std::vector<int64_t>{spec.in, spec.out, spec.kernel}
                                            : std::vector<int64_t>{spec.out, spec.in, spec.kernel};
    const double bound = 1.0 / std::sqrt(double(shape[1] * spec.kernel));
    at::Tensor w = uniform(shape, bound);
    if (spec.weight_norm) {
        // g = ‖v‖ computed before v becomes a parameter, so that g is a leaf (no graph back into v).
        at::Tensor g = w.reshape({shape[0], -1}).norm(2, 1).reshape({shape[0], 1, 1});
        weight_v_ = register_parameter("weight_v", w);
        weight_g_ = register_parameter("weight_g", g);
    } else {
        weight_ = register_parameter("weight", w);
    }
    if (spec.bias) bias_ = register_parameter("bias", uniform({spec.out}, bound));
}

at::Tensor ConvImpl::weight() const {
    if (spec_.weight_norm) return at::_weight_norm(weight_v_, weight_g_, 0);
    return weight_;
}

at::Tensor ConvImpl::forward(const at::Tensor& x) const {
    at::Tensor w = weight();
    if (transposed_)
        return at::conv_transpose1d(x, w, bias_, {spec_.stride}, {spec_.padding}, {0}, 1, {spec_.dilation});
    return at::conv1d(x, w, bias_, {spec_.stride}, {spec_.padding}, {spec_.dilation}, 1);
}

std::shared_ptr<ConvImpl> conv1d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                                 int64_t dilation, bool bias, bool weight_norm) {
    return std::make_shared<ConvImpl>(ConvSpec{in, out, kernel, stride, padding, dilation, bias, weight_norm}, false);
}

std::shared_ptr<ConvImpl> conv_transpose1d(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                           int64_t padding, bool weight_norm) {
    return std::make_shared<ConvImpl>(ConvSpec{in, out, kernel, stride, padding, 1, true, weight_norm}, true);
}

// ---- ChannelLayerNorm --------------------------------------------------------------------------

ChannelLayerNormImpl::ChannelLayerNormImpl(int64_t channels, double eps) : channels_(channels), eps_(eps) {
    gamma_ = register_parameter("gamma", at::ones({channels}, at::kFloat));
    beta_ = register_parameter("beta", at::zeros({channels}, at::kFloat));
}

at::Tensor ChannelLayerNormImpl::forward(const at::Tensor& x) const {
    at::Tensor t = x.transpose(1, -1);
    t = at::layer_norm(t, {channels_}, gamma_, beta_, eps_);
    return t.transpose(1, -1);
}

// ---- Linear / LinearNorm / Embedding -----------------------------------------------------------

LinearNormImpl::LinearNormImpl(int64_t in, int64_t out, bool bias) {
    fc_ = register_module("fc", std::make_shared<LinearImpl>(in, out, bias));
}

EmbeddingImpl::EmbeddingImpl(int64_t num, int64_t dim) {
    weight_ = register_parameter("weight", at::randn({num, dim}, at::kFloat));
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) const { return at::embedding(weight_, ids); }

// ---- loading -----------------------------------------------------------------------------------

void load_state(torch::nn::Module& module, const StateDict& state, const std::string& prefix,
                const std::string& source) {
    c10::NoGradGuard no_grad;
    auto assign = [&](const std::string& name, at::Tensor& target) {
        const std::string key = prefix + name;
        at::Tensor value;
        auto it = state.find(key);
        if (it != state.end()) {
            value = it->second;
        } else if (name.size() > 7 && name.compare(name.size() - 7, 7, ".weight") == 0 &&
                   state.count(key + "_g") && state.count(key + "_v")) {
            // Fold weight norm: w = g * v / ||v|| (norm over all dims except 0), in float32.
            value = at::_weight_norm(state.at(key + "_v").to(at::kFloat), state.at(key + "_g").to(at::kFloat), 0);
        } else {
            throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}'", source, key));
        }
        if (value.sizes() != target.sizes())
            throw Error(Errc::invalid_file, fmt::format("{}: tensor '{}' has shape {}, expected {}", source, key,
                                                        shape_str(value.sizes()), shape_str(target.sizes())));
        target.copy_(value.to(target.device(), target.scalar_type()));
    };
    for (auto& item : module.named_parameters(true)) assign(item.key(), item.value());
    for (auto& item : module.named_buffers(true)) assign(item.key(), item.value());
}

}  // namespace troupe::sovits::s2
