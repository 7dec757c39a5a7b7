#include "train/scaled_adam.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

namespace troupe::sovits::train {
namespace {

std::vector<int64_t> reduce_dims(const at::Tensor& p) {
    std::vector<int64_t> d(size_t(p.dim() - 1));
    std::iota(d.begin(), d.end(), int64_t(1));
    return d;
}

}  // namespace

ScaledAdam::ScaledAdam(std::vector<std::pair<std::string, at::Tensor>> params, ScaledAdamOptions options)
    : params_(std::move(params)), options_(options) {
    if (params_.empty()) throw Error(Errc::invalid_argument, "ScaledAdam: no parameters");
    if (options_.size_update_period < 1 || options_.clipping_update_period < 1)
        throw Error(Errc::invalid_argument, "ScaledAdam: update periods must be at least 1");
    // Upstream keys batches by (dtype, *shape) and sorts the keys; all parameters are float32 here,
    // so the shape's lexicographic order (a shorter prefix first) is the same order.
    std::map<std::vector<int64_t>, size_t> by_shape;
    for (size_t i = 0; i < params_.size(); ++i) {
        const auto shape = params_[i].second.sizes().vec();
        auto it = by_shape.find(shape);
        if (it == by_shape.end()) {
            it = by_shape.emplace(shape, batches_.size()).first;
            batches_.push_back(Batch{shape, {}, {}, {}, {}, {}, {}});
        }
        batches_[it->second].members.push_back(i);
    }
    std::vector<Batch> sorted;
    for (const auto& [shape, idx] : by_shape) sorted.push_back(std::move(batches_[idx]));
    batches_ = std::move(sorted);
}

std::vector<std::pair<std::vector<int64_t>, std::vector<std::string>>> ScaledAdam::batches() const {
    std::vector<std::pair<std::vector<int64_t>, std::vector<std::string>>> out;
    for (const auto& b : batches_) {
        std::vector<std::string> names;
        for (size_t m : b.members) names.push_back(params_[m].first);
        out.emplace_back(b.shape, names);
    }
    return out;
}

void ScaledAdam::zero_grad() {
    for (auto& [name, p] : params_)
        if (p.grad().defined()) p.mutable_grad().reset();
}

void ScaledAdam::step() {
    c10::NoGradGuard no_grad;
    std::vector<at::Tensor> ps, gs;
    for (auto& b : batches_) {
        std::vector<at::Tensor> members, grads;
        for (size_t m : b.members) {
            const at::Tensor& p = params_[m].second;
            members.push_back(p.detach());
            grads.push_back(p.grad().defined() ? p.grad().detach() : at::zeros_like(p));
        }
        ps.push_back(at::stack(members));
        gs.push_back(at::stack(grads));
    }
    // Upstream asks for a clipping factor only once the first batch has state (from step 1 on).
    last_clip_ = step_ == 0 ? 1.0 : clipping_factor(ps, gs);
    for (size_t j = 0; j < batches_.size(); ++j) {
        Batch& b = batches_[j];
        at::Tensor& p = ps[j];
        if (!b.delta.defined()) {  // _init_state (numel of the whole stack, as upstream)
            b.delta = at::zeros_like(p);
            b.exp_avg_sq = at::zeros_like(p);
            if (p.numel() > 1) {
                b.param_rms = at::pow(p, 2).mean(reduce_dims(p), true).sqrt();
                b.scale_exp_avg_sq = at::zeros_like(b.param_rms);
                std::vector<int64_t> s{options_.size_update_period};
                for (int64_t d : b.param_rms.sizes()) s.push_back(d);
                b.scale_grads = at::zeros(s, p.options());
            }
        }
        step_batch(b, p, gs[j], last_clip_);
        for (size_t k = 0; k < b.members.size(); ++k) params_[b.members[k]].second.detach().copy_(p[int64_t(k)]);
    }
    ++step_;
}

double ScaledAdam::clipping_factor(const std::vector<at::Tensor>& ps, const std::vector<at::Tensor>& gs) {
    const double scale = options_.clipping_scale;
    if (scale <= 0) return 1.0;
    const int64_t period = options_.clipping_update_period;
    at::Tensor tot = at::zeros({}, ps[0].options());
    for (size_t j = 0; j < batches_.size(); ++j) {
        if (ps[j].numel() == ps[j].size(0))
            tot += at::pow(gs[j], 2).sum();
        else
            tot += at::pow(gs[j] * batches_[j].param_rms, 2).sum();
    }
    const at::Tensor tot_norm = tot.sqrt();
    if (!model_norms_.defined()) model_norms_ = at::zeros({period}, ps[0].options());
    model_norms_[step_ % period] = tot_norm;
    if (step_ % period == 0) {
        const at::Tensor sorted = std::get<0>(model_norms_.sort()).to(at::kCPU);
        const int64_t idx = std::min(period - 1, (period / 4) * 2);
        threshold_ = scale * double(sorted[idx].item<float>());
        has_threshold_ = true;
        num_clipped_ = 0;
    }
    if (step_ < period || !has_threshold_) return 1.0;
    // Python's `threshold / tensor` is `tensor.reciprocal() * threshold`.
    const double ans = std::min(1.0, double((at::reciprocal(tot_norm + 1.0e-20) * threshold_).item<float>()));
    if (ans < 1.0) ++num_clipped_;
    return ans;
}

void ScaledAdam::step_batch(Batch& b, at::Tensor& p, const at::Tensor& grad, double clip) {
    const int64_t period = options_.size_update_period;
    const at::Tensor g = clip != 1.0 ? grad * clip : grad;  // only the size update sees it (upstream)
    b.delta.mul_(options_.beta1);
    const int64_t numel = p.numel() / p.size(0);
    if (numel > 1) {
        b.scale_grads[step_ % period] = (p * g).sum(reduce_dims(p), true);
        if (step_ % period == period - 1) {
            b.param_rms.copy_(at::pow(p, 2).mean(reduce_dims(p), true).sqrt());
            if (step_ > 0) size_update(b, p);
        }
        step_tensor(b, p, grad);
    } else {
        step_scalar(b, p, grad);
    }
}

void ScaledAdam::size_update(Batch& b, const at::Tensor& p) {
    const double beta1 = options_.beta1, beta2 = options_.beta2;
    const double size_lr = options_.lr * options_.scalar_lr_scale;
    const int64_t period = b.scale_grads.size(0);
    const double beta2_corr = std::pow(beta2, double(period));
    b.scale_exp_avg_sq.mul_(beta2_corr).add_(at::pow(b.scale_grads, 2).mean(0), 1 - beta2_corr);
    const int64_t size_step = (step_ + 1) / period;
    const double bias_correction2 = 1 - std::pow(beta2_corr, double(size_step));
    const at::Tensor denom = b.scale_exp_avg_sq.sqrt() + options_.eps;
    at::Tensor scale_step = -size_lr * std::pow(bias_correction2, 0.5) * b.scale_grads.sum(0) / denom;
    scale_step.masked_fill_(b.param_rms < options_.param_min_rms, 0.0);
    scale_step.masked_fill_(b.param_rms > options_.param_max_rms, -size_lr * double(period));
    b.delta.add_(p * scale_step, 1 - beta1);
}

void ScaledAdam::step_tensor(Batch& b, at::Tensor& p, const at::Tensor& grad) {
    const double lr = options_.lr, beta1 = options_.beta1, beta2 = options_.beta2;
    b.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const double bias_correction2 = 1 - std::pow(beta2, double(step_ + 1));
    const at::Tensor v = bias_correction2 < 0.99 ? b.exp_avg_sq * (1.0 / bias_correction2) : b.exp_avg_sq;
    at::Tensor denom = v.sqrt();
    denom += options_.eps;
    const at::Tensor g = grad / denom;
    const at::Tensor alpha = -lr * (1 - beta1) * b.param_rms.clamp_min(options_.param_min_rms);
    b.delta.add_(g * alpha);
    p.add_(b.delta);
}

void ScaledAdam::step_scalar(Batch& b, at::Tensor& p, const at::Tensor& grad) {
    const double beta1 = options_.beta1, beta2 = options_.beta2;
    const double lr = options_.lr * options_.scalar_lr_scale;
    b.exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const double bias_correction2 = 1 - std::pow(beta2, double(step_ + 1));
    const at::Tensor denom = (b.exp_avg_sq / bias_correction2).sqrt() + options_.eps;
    b.delta.add_(grad / denom, -lr * (1 - beta1));
    p.clamp_(-options_.scalar_max, options_.scalar_max);
    p.add_(b.delta);
}

std::vector<std::pair<std::string, at::Tensor>> ScaledAdam::state_tensors() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (size_t j = 0; j < batches_.size(); ++j) {
        const Batch& b = batches_[j];
        const std::string k = fmt::format("b{}.", j);
        if (b.delta.defined()) out.emplace_back(k + "delta", b.delta);
        if (b.exp_avg_sq.defined()) out.emplace_back(k + "exp_avg_sq", b.exp_avg_sq);
        if (b.param_rms.defined()) out.emplace_back(k + "param_rms", b.param_rms);
        if (b.scale_exp_avg_sq.defined()) out.emplace_back(k + "scale_exp_avg_sq", b.scale_exp_avg_sq);
        if (b.scale_grads.defined()) out.emplace_back(k + "scale_grads", b.scale_grads);
    }
    if (model_norms_.defined()) out.emplace_back("model_norms", model_norms_);
    return out;
}

nlohmann::json ScaledAdam::state_scalars() const {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& b : batches()) names.push_back(b.second);
    return {{"step", step_}, {"lr", options_.lr}, {"has_threshold", has_threshold_}, {"threshold", threshold_},
            {"num_clipped", num_clipped_}, {"batches", names}};
}

void ScaledAdam::load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const nlohmann::json& s) {
    nlohmann::json names = nlohmann::json::array();
    for (const auto& b : batches()) names.push_back(b.second);
    if (s.value("batches", nlohmann::json()) != names)
        throw Error(Errc::invalid_file, "ScaledAdam state: saved for a different parameter set");
    std::map<std::string, at::Tensor> t(tensors.begin(), tensors.end());
    auto get = [&](const std::string& k, const at::Tensor& like_param) -> at::Tensor {
        auto it = t.find(k);
        if (it == t.end()) return at::Tensor();
        return it->second.to(like_param.device(), like_param.scalar_type()).clone();
    };
    const at::Tensor& ref = params_[0].second;
    for (size_t j = 0; j < batches_.size(); ++j) {
        Batch& b = batches_[j];
        const std::string k = fmt::format("b{}.", j);
        b.delta = get(k + "delta", ref);
        b.exp_avg_sq = get(k + "exp_avg_sq", ref);
        b.param_rms = get(k + "param_rms", ref);
        b.scale_exp_avg_sq = get(k + "scale_exp_avg_sq", ref);
        b.scale_grads = get(k + "scale_grads", ref);
    }
    model_norms_ = get("model_norms", ref);
    step_ = s.at("step").get<int64_t>();
    options_.lr = s.at("lr").get<double>();
    has_threshold_ = s.at("has_threshold").get<bool>();
    threshold_ = s.at("threshold").get<double>();
    num_clipped_ = s.at("num_clipped").get<int64_t>();
}

}  // namespace troupe::sovits::train
