#include "s2/discriminator.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cmath>

namespace troupe::sovits::s2 {
namespace {

constexpr double kLreluSlope = 0.1;  // modules.LRELU_SLOPE

struct LayerShape {
    int64_t kernel, stride, padding;
};
// Upstream's fixed structure (models.DiscriminatorS / DiscriminatorP(kernel 5, stride 3)).
const std::vector<LayerShape> kScales = {{15, 1, 7}, {41, 4, 20}, {41, 4, 20}, {41, 4, 20}, {41, 4, 20}, {5, 1, 2}};
const std::vector<int64_t> kScaleChannels = {16, 64, 256, 1024, 1024, 1024};
const std::vector<int64_t> kScaleGroups = {1, 4, 16, 64, 256, 1};
const std::vector<LayerShape> kPeriods = {{5, 3, 2}, {5, 3, 2}, {5, 3, 2}, {5, 3, 2}, {5, 1, 2}};
const std::vector<int64_t> kPeriodChannels = {32, 128, 512, 1024, 1024};

}  // namespace

DiscConvImpl::DiscConvImpl(const Spec& s) : spec_(s) {
    std::vector<int64_t> shape{s.out, s.in / s.groups, s.kernel};
    if (s.two_d) shape.push_back(1);
    // PyTorch's default init (kaiming_uniform a=sqrt(5) → U(±1/sqrt(fan_in))), then weight_norm g = ‖v‖.
    const double bound = 1.0 / std::sqrt(double(s.in / s.groups * s.kernel));
    at::Tensor v = at::empty(shape, at::kFloat).uniform_(-bound, bound);
    std::vector<int64_t> gshape(shape.size(), 1);
    gshape[0] = s.out;
    at::Tensor g = v.reshape({s.out, -1}).norm(2, 1).reshape(gshape);
    bias_ = register_parameter("bias", at::empty({s.out}, at::kFloat).uniform_(-bound, bound));
    weight_g_ = register_parameter("weight_g", g);
    weight_v_ = register_parameter("weight_v", v);
}

at::Tensor DiscConvImpl::forward(const at::Tensor& x) const {
    const at::Tensor w = at::_weight_norm(weight_v_, weight_g_, 0);
    if (spec_.two_d)
        return at::conv2d(x, w, bias_, {spec_.stride, 1}, {spec_.padding, 0}, {1, 1}, spec_.groups);
    return at::conv1d(x, w, bias_, {spec_.stride}, {spec_.padding}, {1}, spec_.groups);
}

SubDiscriminatorImpl::SubDiscriminatorImpl(int64_t period, const std::vector<int64_t>& channels,
                                           const std::vector<int64_t>& groups)
    : period_(period) {
    const auto& shapes = period == 0 ? kScales : kPeriods;
    auto list = register_module("convs", torch::nn::ModuleList());
    int64_t in = 1;
    for (size_t j = 0; j < shapes.size(); ++j) {
        DiscConvImpl::Spec s{in, channels[j], shapes[j].kernel, shapes[j].stride, shapes[j].padding, groups[j], period != 0};
        convs_.push_back(std::make_shared<DiscConvImpl>(s));
        list->push_back(convs_.back());
        in = channels[j];
    }
    conv_post_ = register_module("conv_post", std::make_shared<DiscConvImpl>(DiscConvImpl::Spec{in, 1, 3, 1, 1, 1, period != 0}));
}

at::Tensor SubDiscriminatorImpl::forward(at::Tensor x, std::vector<at::Tensor>* fmap) const {
    if (period_ > 0) {
        // 1d to 2d: reflect-pad the end to a multiple of the period, then (B, C, T/p, p).
        const int64_t b = x.size(0), c = x.size(1);
        int64_t t = x.size(2);
        if (t % period_ != 0) {
            const int64_t n_pad = period_ - t % period_;
            x = at::reflection_pad1d(x, {0, n_pad});
            t += n_pad;
        }
        x = x.view({b, c, t / period_, period_});
    }
    for (const auto& conv : convs_) {
        x = at::leaky_relu(conv->forward(x), kLreluSlope);
        if (fmap) fmap->push_back(x);
    }
    x = conv_post_->forward(x);
    if (fmap) fmap->push_back(x);
    return at::flatten(x, 1, -1);
}

MultiPeriodDiscriminatorImpl::MultiPeriodDiscriminatorImpl(const StateDict& state, const std::string& source,
                                                           std::vector<int64_t> periods) {
    std::vector<int64_t> all{0};
    all.insert(all.end(), periods.begin(), periods.end());
    if (!state.empty()) {
        size_t n = 0;
        while (state.count(fmt::format("discriminators.{}.convs.0.weight_v", n))) ++n;
        if (n != all.size())
            throw Error(Errc::invalid_file,
                        fmt::format("{}: {} discriminators in the weights, a v2 MultiPeriodDiscriminator has {} "
                                    "(not an S2 discriminator, or a v2Pro one?)",
                                    source, n, all.size()));
    }
    auto list = register_module("discriminators", torch::nn::ModuleList());
    for (size_t i = 0; i < all.size(); ++i) {
        const bool scale = all[i] == 0;
        std::vector<int64_t> channels = scale ? kScaleChannels : kPeriodChannels;
        std::vector<int64_t> groups = scale ? kScaleGroups : std::vector<int64_t>(kPeriodChannels.size(), 1);
        if (!state.empty()) {
            int64_t in = 1;
            for (size_t j = 0; j < channels.size(); ++j) {
                const std::string key = fmt::format("discriminators.{}.convs.{}.weight_v", i, j);
                auto it = state.find(key);
                if (it == state.end()) throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}'", source, key));
                const at::Tensor& v = it->second;
                if (v.dim() != (scale ? 3 : 4) || v.size(1) <= 0 || in % v.size(1) != 0)
                    throw Error(Errc::invalid_file, fmt::format("{}: tensor '{}' does not fit a discriminator conv", source, key));
                channels[j] = v.size(0);
                groups[j] = in / v.size(1);
                in = channels[j];
            }
        }
        discs_.push_back(std::make_shared<SubDiscriminatorImpl>(all[i], channels, groups));
        list->push_back(discs_.back());
    }
    if (!state.empty()) load_state(*this, state, "", source);
}

DiscriminatorOutput MultiPeriodDiscriminatorImpl::forward(const at::Tensor& y, const at::Tensor& y_hat) const {
    DiscriminatorOutput out;
    for (const auto& d : discs_) {
        out.fmap_real.emplace_back();
        out.fmap_fake.emplace_back();
        out.real.push_back(d->forward(y, &out.fmap_real.back()));
        out.fake.push_back(d->forward(y_hat, &out.fmap_fake.back()));
    }
    return out;
}

}  // namespace troupe::sovits::s2
