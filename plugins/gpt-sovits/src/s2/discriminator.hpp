// s2/discriminator.hpp — upstream models.MultiPeriodDiscriminator (v2: DiscriminatorS + DiscriminatorP
// for periods 2, 3, 5, 7, 11), the HiFi-GAN discriminator SoVITS fine-tuning trains against. Training
// only. Parameter names equal upstream's state_dict (`discriminators.{i}.convs.{j}.weight_g/_v/bias`,
// `discriminators.{i}.conv_post.*`); every conv is weight-normed (use_spectral_norm false).
//
// Kernels, strides, paddings and the layer structure are upstream's; channel counts and groups are
// read from the weights (a state dict) when one is given — groups = in_channels / weight.size(1) —
// so shrunken test models load; without weights, upstream's widths and PyTorch's default init.
#pragma once

#include "s2/layers.hpp"

#include <vector>

namespace troupe::sovits::s2 {

/// One weight-normed Conv1d or Conv2d (weight (out, in/groups, k[, 1])), upstream's layout.
class DiscConvImpl : public torch::nn::Module {
public:
    struct Spec {
        int64_t in = 1, out = 1, kernel = 1, stride = 1, padding = 0, groups = 1;
        bool two_d = false;  // Conv2d with kernel (k, 1), stride (s, 1), padding (p, 0)
    };
    explicit DiscConvImpl(const Spec& spec);
    at::Tensor forward(const at::Tensor& x) const;

private:
    Spec spec_;
    at::Tensor weight_g_, weight_v_, bias_;
};

/// DiscriminatorS (period 0) or DiscriminatorP(period). forward returns the flattened score (B, N)
/// and appends every layer's activation to `fmap` (6 or 7 tensors).
class SubDiscriminatorImpl : public torch::nn::Module {
public:
    /// `channels`/`groups` per conv layer (excluding conv_post, whose output is 1).
    SubDiscriminatorImpl(int64_t period, const std::vector<int64_t>& channels, const std::vector<int64_t>& groups);
    at::Tensor forward(at::Tensor x, std::vector<at::Tensor>* fmap) const;
    int64_t period() const { return period_; }

private:
    int64_t period_;
    std::vector<std::shared_ptr<DiscConvImpl>> convs_;
    std::shared_ptr<DiscConvImpl> conv_post_;
};

struct DiscriminatorOutput {
    std::vector<at::Tensor> real, fake;                    // per sub-discriminator (B, N)
    std::vector<std::vector<at::Tensor>> fmap_real, fmap_fake;
};

class MultiPeriodDiscriminatorImpl : public torch::nn::Module {
public:
    /// Widths from `state` (upstream key names; empty: upstream's widths). `periods`: v2's by default.
    /// Throws Error(invalid_file) naming `source` when the weights are not a MultiPeriodDiscriminator.
    explicit MultiPeriodDiscriminatorImpl(const StateDict& state = {}, const std::string& source = "",
                                          std::vector<int64_t> periods = {2, 3, 5, 7, 11});
    /// y, y_hat (B, 1, samples).
    DiscriminatorOutput forward(const at::Tensor& y, const at::Tensor& y_hat) const;
    size_t size() const { return discs_.size(); }

private:
    std::vector<std::shared_ptr<SubDiscriminatorImpl>> discs_;
};

}  // namespace troupe::sovits::s2
