#include "s2/flow.hpp"

#include "s2/text_encoder.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/nn/modules/container/modulelist.h>

namespace troupe::sovits::s2 {

// ---- WN ----------------------------------------------------------------------------------------

WNImpl::WNImpl(int64_t hidden, int64_t kernel, int64_t dilation_rate, int64_t n_layers, int64_t gin_channels,
               double p_dropout, bool weight_norm)
    : hidden_(hidden), p_dropout_(p_dropout) {
    if (gin_channels != 0)
        cond_layer_ = register_module("cond_layer", conv1d(gin_channels, 2 * hidden * n_layers, 1, 1, 0, 1, true, weight_norm));
    auto in_list = register_module("in_layers", torch::nn::ModuleList());
    auto res_list = register_module("res_skip_layers", torch::nn::ModuleList());
    int64_t dilation = 1;
    for (int64_t i = 0; i < n_layers; ++i) {
        const int64_t padding = (kernel * dilation - dilation) / 2;
        in_layers_.push_back(conv1d(hidden, 2 * hidden, kernel, 1, padding, dilation, true, weight_norm));
        const int64_t res_skip = i < n_layers - 1 ? 2 * hidden : hidden;
        res_skip_layers_.push_back(conv1d(hidden, res_skip, 1, 1, 0, 1, true, weight_norm));
        in_list->push_back(in_layers_.back());
        res_list->push_back(res_skip_layers_.back());
        dilation *= dilation_rate;
    }
}

at::Tensor WNImpl::forward(at::Tensor x, const at::Tensor& x_mask, const at::Tensor& g_in) const {
    at::Tensor output = at::zeros_like(x);
    at::Tensor g;
    if (g_in.defined() && cond_layer_) g = cond_layer_->forward(g_in);
    const int64_t n = int64_t(in_layers_.size());
    for (int64_t i = 0; i < n; ++i) {
        at::Tensor x_in = in_layers_[size_t(i)]->forward(x);
        at::Tensor in_act = g.defined() ? x_in + g.slice(1, i * 2 * hidden_, (i + 1) * 2 * hidden_) : x_in + at::zeros_like(x_in);
        at::Tensor acts = at::tanh(in_act.slice(1, 0, hidden_)) * at::sigmoid(in_act.slice(1, hidden_));
        acts = train_dropout(acts, p_dropout_, is_training());
        at::Tensor res_skip = res_skip_layers_[size_t(i)]->forward(acts);
        if (i < n - 1) {
            x = (x + res_skip.slice(1, 0, hidden_)) * x_mask;
            output = output + res_skip.slice(1, hidden_);
        } else {
            output = output + res_skip;
        }
    }
    return output * x_mask;
}

// ---- coupling ----------------------------------------------------------------------------------

CouplingLayerImpl::CouplingLayerImpl(int64_t channels, int64_t hidden, int64_t kernel, int64_t dilation_rate,
                                     int64_t n_layers, int64_t gin_channels, bool mean_only, bool weight_norm)
    : half_(channels / 2), mean_only_(mean_only) {
    pre_ = register_module("pre", conv1d(half_, hidden, 1));
    enc_ = register_module("enc", std::make_shared<WNImpl>(hidden, kernel, dilation_rate, n_layers, gin_channels, 0.0, weight_norm));
    post_ = register_module("post", conv1d(hidden, half_ * (mean_only ? 1 : 2), 1));
    c10::NoGradGuard no_grad;
    for (auto& p : post_->parameters()) p.zero_();  // upstream zero-initialises post
}

at::Tensor CouplingLayerImpl::forward(const at::Tensor& x, const at::Tensor& x_mask, const at::Tensor& g,
                                      bool reverse) const {
    at::Tensor x0 = x.slice(1, 0, half_), x1 = x.slice(1, half_);
    at::Tensor h = pre_->forward(x0) * x_mask;
    h = enc_->forward(h, x_mask, g);
    at::Tensor stats = post_->forward(h) * x_mask;
    at::Tensor m, logs;
    if (mean_only_) {
        m = stats;
    } else {
        m = stats.slice(1, 0, half_);
        logs = stats.slice(1, half_);
    }
    if (!reverse) {
        x1 = logs.defined() ? m + x1 * at::exp(logs) * x_mask : m + x1 * x_mask;
    } else {
        x1 = logs.defined() ? (x1 - m) * at::exp(-logs) * x_mask : (x1 - m) * x_mask;
    }
    return at::cat({x0, x1}, 1);
}

CouplingBlockImpl::CouplingBlockImpl(int64_t channels, int64_t hidden, int64_t kernel, int64_t dilation_rate,
                                     int64_t n_layers, int64_t n_flows, int64_t gin_channels, bool weight_norm) {
    auto flows = register_module("flows", torch::nn::ModuleList());
    for (int64_t i = 0; i < n_flows; ++i) {
        couplings_.push_back(std::make_shared<CouplingLayerImpl>(channels, hidden, kernel, dilation_rate, n_layers,
                                                                 gin_channels, true, weight_norm));
        flows->push_back(couplings_.back());
        flows->push_back(std::make_shared<PlaceholderImpl>());  // Flip
    }
}

at::Tensor CouplingBlockImpl::forward(at::Tensor x, const at::Tensor& x_mask, const at::Tensor& g, bool reverse) const {
    if (!reverse) {
        for (const auto& c : couplings_) {
            x = c->forward(x, x_mask, g, false);
            x = at::flip(x, {1});
        }
    } else {
        for (auto it = couplings_.rbegin(); it != couplings_.rend(); ++it) {
            x = at::flip(x, {1});
            x = (*it)->forward(x, x_mask, g, true);
        }
    }
    return x;
}

// ---- posterior encoder -------------------------------------------------------------------------

PosteriorEncoderImpl::PosteriorEncoderImpl(int64_t in, int64_t out, int64_t hidden, int64_t kernel,
                                           int64_t dilation_rate, int64_t n_layers, int64_t gin_channels,
                                           bool weight_norm)
    : out_(out) {
    pre_ = register_module("pre", conv1d(in, hidden, 1));
    enc_ = register_module("enc", std::make_shared<WNImpl>(hidden, kernel, dilation_rate, n_layers, gin_channels, 0.0, weight_norm));
    proj_ = register_module("proj", conv1d(hidden, out * 2, 1));
}

std::vector<at::Tensor> PosteriorEncoderImpl::forward(const at::Tensor& x_in, const at::Tensor& x_lengths,
                                                      const at::Tensor& g_in, const at::Tensor& noise) const {
    const at::Tensor g = g_in.defined() ? g_in.detach() : g_in;
    at::Tensor x_mask = sequence_mask(x_lengths, x_in.size(2)).unsqueeze(1).to(x_in.scalar_type());
    at::Tensor x = pre_->forward(x_in) * x_mask;
    x = enc_->forward(x, x_mask, g);
    at::Tensor stats = proj_->forward(x) * x_mask;
    at::Tensor m = stats.slice(1, 0, out_), logs = stats.slice(1, out_);
    const at::Tensor eps = noise.defined() ? noise.to(m.device(), m.scalar_type()) : at::randn_like(m);
    at::Tensor z = (m + eps * at::exp(logs)) * x_mask;
    return {z, m, logs, x_mask};
}

}  // namespace troupe::sovits::s2
