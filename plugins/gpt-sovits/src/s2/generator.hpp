// s2/generator.hpp — the HiFi-GAN generator of SoVITS (upstream models.Generator, modules.ResBlock1):
// latent (B, C, F) → waveform (B, 1, F·∏upsample_rates).
#pragma once

#include "s2/layers.hpp"

#include <vector>

namespace troupe::sovits::s2 {

/// modules.ResBlock1: three (lrelu → dilated conv → lrelu → conv + x) units.
class ResBlock1Impl : public torch::nn::Module {
public:
    ResBlock1Impl(int64_t channels, int64_t kernel, const std::vector<int64_t>& dilations, bool weight_norm);
    at::Tensor forward(at::Tensor x) const;

private:
    std::vector<std::shared_ptr<ConvImpl>> convs1_, convs2_;
};

struct GeneratorSpec {
    int64_t initial_channel = 192;
    std::vector<int64_t> resblock_kernel_sizes{3, 7, 11};
    std::vector<std::vector<int64_t>> resblock_dilation_sizes{{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
    std::vector<int64_t> upsample_rates{10, 8, 2, 2, 2};
    int64_t upsample_initial_channel = 512;
    std::vector<int64_t> upsample_kernel_sizes{16, 16, 8, 2, 2};
    int64_t gin_channels = 512;
};

class GeneratorImpl : public torch::nn::Module {
public:
    GeneratorImpl(const GeneratorSpec& spec, bool weight_norm);
    /// x (B, initial_channel, F), g (B, gin, 1) or undefined → (B, 1, F·hop).
    at::Tensor forward(const at::Tensor& x, const at::Tensor& g) const;
    int64_t hop() const;

private:
    GeneratorSpec spec_;
    std::shared_ptr<ConvImpl> conv_pre_, conv_post_, cond_;
    std::vector<std::shared_ptr<ConvImpl>> ups_;
    std::vector<std::shared_ptr<ResBlock1Impl>> resblocks_;
};

}  // namespace troupe::sovits::s2
