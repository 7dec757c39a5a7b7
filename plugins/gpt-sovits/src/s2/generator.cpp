#include "s2/generator.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <torch/nn/modules/container/modulelist.h>

namespace troupe::sovits::s2 {
namespace {
constexpr double kLreluSlope = 0.1;
int64_t get_padding(int64_t kernel, int64_t dilation) { return (kernel * dilation - dilation) / 2; }
}  // namespace

ResBlock1Impl::ResBlock1Impl(int64_t channels, int64_t kernel, const std::vector<int64_t>& dilations, bool weight_norm) {
    auto list1 = register_module("convs1", torch::nn::ModuleList());
    auto list2 = register_module("convs2", torch::nn::ModuleList());
    for (int64_t d : dilations) {
        convs1_.push_back(conv1d(channels, channels, kernel, 1, get_padding(kernel, d), d, true, weight_norm));
        convs2_.push_back(conv1d(channels, channels, kernel, 1, get_padding(kernel, 1), 1, true, weight_norm));
        list1->push_back(convs1_.back());
        list2->push_back(convs2_.back());
    }
}

at::Tensor ResBlock1Impl::forward(at::Tensor x) const {
    for (size_t i = 0; i < convs1_.size(); ++i) {
        at::Tensor xt = at::leaky_relu(x, kLreluSlope);
        xt = convs1_[i]->forward(xt);
        xt = at::leaky_relu(xt, kLreluSlope);
        xt = convs2_[i]->forward(xt);
        x = xt + x;
    }
    return x;
}

GeneratorImpl::GeneratorImpl(const GeneratorSpec& s, bool weight_norm) : spec_(s) {
    if (s.upsample_rates.size() != s.upsample_kernel_sizes.size() ||
        s.resblock_kernel_sizes.size() != s.resblock_dilation_sizes.size())
        throw Error(Errc::invalid_argument, "S2 generator config: upsample/resblock lists differ in length");
    conv_pre_ = register_module("conv_pre", conv1d(s.initial_channel, s.upsample_initial_channel, 7, 1, 3));
    auto ups = register_module("ups", torch::nn::ModuleList());
    auto resblocks = register_module("resblocks", torch::nn::ModuleList());
    int64_t ch = s.upsample_initial_channel;
    for (size_t i = 0; i < s.upsample_rates.size(); ++i) {
        const int64_t u = s.upsample_rates[i], k = s.upsample_kernel_sizes[i];
        ups_.push_back(conv_transpose1d(ch, ch / 2, k, u, (k - u) / 2, weight_norm));
        ups->push_back(ups_.back());
        ch /= 2;
    }
    ch = s.upsample_initial_channel;
    for (size_t i = 0; i < s.upsample_rates.size(); ++i) {
        ch /= 2;
        for (size_t j = 0; j < s.resblock_kernel_sizes.size(); ++j) {
            resblocks_.push_back(std::make_shared<ResBlock1Impl>(ch, s.resblock_kernel_sizes[j],
                                                                 s.resblock_dilation_sizes[j], weight_norm));
            resblocks->push_back(resblocks_.back());
        }
    }
    conv_post_ = register_module("conv_post", conv1d(ch, 1, 7, 1, 3, 1, false));
    if (s.gin_channels != 0) cond_ = register_module("cond", conv1d(s.gin_channels, s.upsample_initial_channel, 1));
}

int64_t GeneratorImpl::hop() const {
    int64_t h = 1;
    for (int64_t u : spec_.upsample_rates) h *= u;
    return h;
}

at::Tensor GeneratorImpl::forward(const at::Tensor& input, const at::Tensor& g) const {
    at::Tensor x = conv_pre_->forward(input);
    if (g.defined() && cond_) x = x + cond_->forward(g);
    const size_t nk = spec_.resblock_kernel_sizes.size();
    for (size_t i = 0; i < ups_.size(); ++i) {
        x = at::leaky_relu(x, kLreluSlope);
        x = ups_[i]->forward(x);
        at::Tensor xs;
        for (size_t j = 0; j < nk; ++j) {
            at::Tensor r = resblocks_[i * nk + j]->forward(x);
            xs = xs.defined() ? xs + r : r;
        }
        x = xs / double(nk);
    }
    x = at::leaky_relu(x, 0.01);
    x = conv_post_->forward(x);
    return at::tanh(x);
}

}  // namespace troupe::sovits::s2
