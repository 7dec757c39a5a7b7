// s2/flow.hpp — WaveNet-style WN stack, mean-only residual coupling flows (upstream
// modules.WN / ResidualCouplingLayer / Flip, models.ResidualCouplingBlock) and the training-only
// posterior encoder (models.PosteriorEncoder).
#pragma once

#include "s2/layers.hpp"

#include <vector>

namespace troupe::sovits::s2 {

/// modules.WN: gated dilated convolutions with global conditioning (cond_layer) and skip sums.
/// Its convolutions are weight-normed upstream; `weight_norm` keeps g/v (training) or a plain
/// folded weight (inference).
class WNImpl : public torch::nn::Module {
public:
    WNImpl(int64_t hidden, int64_t kernel, int64_t dilation_rate, int64_t n_layers, int64_t gin_channels,
           double p_dropout, bool weight_norm);
    at::Tensor forward(at::Tensor x, const at::Tensor& x_mask, const at::Tensor& g) const;

private:
    int64_t hidden_;
    double p_dropout_;
    std::shared_ptr<ConvImpl> cond_layer_;
    std::vector<std::shared_ptr<ConvImpl>> in_layers_, res_skip_layers_;
};

/// modules.ResidualCouplingLayer (mean_only): pre → WN → post; reverse x1 = (x1 − m)·mask.
class CouplingLayerImpl : public torch::nn::Module {
public:
    CouplingLayerImpl(int64_t channels, int64_t hidden, int64_t kernel, int64_t dilation_rate, int64_t n_layers,
                      int64_t gin_channels, bool mean_only, bool weight_norm);
    at::Tensor forward(const at::Tensor& x, const at::Tensor& x_mask, const at::Tensor& g, bool reverse) const;

private:
    int64_t half_;
    bool mean_only_;
    std::shared_ptr<ConvImpl> pre_, post_;
    std::shared_ptr<WNImpl> enc_;
};

/// models.ResidualCouplingBlock: flows = [coupling, Flip] × n_flows (params at even indices).
class CouplingBlockImpl : public torch::nn::Module {
public:
    CouplingBlockImpl(int64_t channels, int64_t hidden, int64_t kernel, int64_t dilation_rate, int64_t n_layers,
                      int64_t n_flows, int64_t gin_channels, bool weight_norm);
    at::Tensor forward(at::Tensor x, const at::Tensor& x_mask, const at::Tensor& g, bool reverse) const;

private:
    std::vector<std::shared_ptr<CouplingLayerImpl>> couplings_;
};

/// models.PosteriorEncoder (training only): pre → WN → proj → (z, m, logs).
class PosteriorEncoderImpl : public torch::nn::Module {
public:
    PosteriorEncoderImpl(int64_t in, int64_t out, int64_t hidden, int64_t kernel, int64_t dilation_rate,
                         int64_t n_layers, int64_t gin_channels, bool weight_norm);
    /// Returns {z, m, logs, x_mask} with z = (m + noise·exp(logs))·mask. `noise` (shaped like m) is
    /// upstream's torch.randn_like(m); undefined: drawn here from the global generator. The
    /// conditioning g is detached, as upstream does.
    std::vector<at::Tensor> forward(const at::Tensor& x, const at::Tensor& x_lengths, const at::Tensor& g,
                                    const at::Tensor& noise = {}) const;

private:
    int64_t out_;
    std::shared_ptr<ConvImpl> pre_, proj_;
    std::shared_ptr<WNImpl> enc_;
};

}  // namespace troupe::sovits::s2
