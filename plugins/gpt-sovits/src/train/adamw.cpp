#include "train/adamw.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <cmath>
#include <map>

namespace troupe::sovits::train {

AdamW::AdamW(std::vector<AdamWGroup> groups, const AdamWOptions& options) : groups_(std::move(groups)), options_(options) {
    for (const auto& g : groups_) state_.emplace_back(g.params.size());
}

void AdamW::step() {
    c10::NoGradGuard no_grad;
    const double b1 = options_.beta1, b2 = options_.beta2;
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        const double lr = groups_[gi].lr;
        for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
            at::Tensor p = groups_[gi].params[pi].second;
            const at::Tensor& grad = p.grad();
            if (!grad.defined()) continue;
            ParamState& s = state_[gi][pi];
            if (!s.exp_avg.defined()) {
                s.exp_avg = at::zeros_like(p);
                s.exp_avg_sq = at::zeros_like(p);
            }
            ++s.step;
            // _single_tensor_adam with decoupled weight decay (torch ≥ 2.x AdamW).
            p.mul_(1 - lr * options_.weight_decay);
            s.exp_avg.lerp_(grad, 1 - b1);
            s.exp_avg_sq.mul_(b2).addcmul_(grad, grad, 1 - b2);
            const double bias_correction1 = 1 - std::pow(b1, double(s.step));
            const double bias_correction2 = 1 - std::pow(b2, double(s.step));
            const double step_size = lr / bias_correction1;
            const double bias_correction2_sqrt = std::sqrt(bias_correction2);
            const at::Tensor denom = (s.exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(options_.eps);
            p.addcdiv_(s.exp_avg, denom, -step_size);
        }
    }
}

void AdamW::zero_grad() {
    for (auto& g : groups_)
        for (auto& [name, p] : g.params) p.mutable_grad().reset();
}

std::vector<at::Tensor> AdamW::parameters() const {
    std::vector<at::Tensor> out;
    for (const auto& g : groups_)
        for (const auto& np : g.params) out.push_back(np.second);
    return out;
}

std::vector<std::pair<std::string, at::Tensor>> AdamW::state_tensors() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (size_t gi = 0; gi < groups_.size(); ++gi)
        for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
            const ParamState& s = state_[gi][pi];
            if (!s.exp_avg.defined()) continue;
            out.emplace_back(groups_[gi].params[pi].first + ".exp_avg", s.exp_avg);
            out.emplace_back(groups_[gi].params[pi].first + ".exp_avg_sq", s.exp_avg_sq);
        }
    return out;
}

nlohmann::json AdamW::state_scalars() const {
    nlohmann::json groups = nlohmann::json::array();
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        nlohmann::json steps = nlohmann::json::object();
        for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi)
            if (state_[gi][pi].step > 0) steps[groups_[gi].params[pi].first] = state_[gi][pi].step;
        groups.push_back({{"lr", groups_[gi].lr},
                          {"initial_lr", groups_[gi].initial_lr},
                          {"params", groups_[gi].params.size()},
                          {"steps", steps}});
    }
    return groups;
}

void AdamW::load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const nlohmann::json& scalars,
                       const std::string& source) {
    if (!scalars.is_array() || scalars.size() != groups_.size())
        throw Error(Errc::invalid_file, fmt::format("{}: optimizer state has other parameter groups", source));
    std::map<std::string, at::Tensor> by_name(tensors.begin(), tensors.end());
    c10::NoGradGuard no_grad;
    for (size_t gi = 0; gi < groups_.size(); ++gi) {
        const nlohmann::json& g = scalars[gi];
        if (g.at("params").get<size_t>() != groups_[gi].params.size())
            throw Error(Errc::invalid_file, fmt::format("{}: optimizer group {} has another parameter count", source, gi));
        groups_[gi].lr = g.at("lr").get<double>();
        groups_[gi].initial_lr = g.at("initial_lr").get<double>();
        for (size_t pi = 0; pi < groups_[gi].params.size(); ++pi) {
            const std::string& name = groups_[gi].params[pi].first;
            const at::Tensor& p = groups_[gi].params[pi].second;
            ParamState& s = state_[gi][pi];
            s = ParamState{};
            auto it = g.at("steps").find(name);
            if (it == g.at("steps").end()) continue;
            s.step = it->get<int64_t>();
            auto a = by_name.find(name + ".exp_avg"), b = by_name.find(name + ".exp_avg_sq");
            if (a == by_name.end() || b == by_name.end() || a->second.sizes() != p.sizes())
                throw Error(Errc::invalid_file, fmt::format("{}: optimizer state of '{}' is missing or misshaped", source, name));
            s.exp_avg = a->second.to(p.device(), p.scalar_type()).clone();
            s.exp_avg_sq = b->second.to(p.device(), p.scalar_type()).clone();
        }
    }
}

void ExponentialLr::step() {
    ++last_epoch_;
    for (auto& g : opt_->groups()) g.lr = g.lr * gamma_;
}

double grad_norm(const std::vector<at::Tensor>& params) {
    double total = 0;
    for (const auto& p : params) {
        if (!p.grad().defined()) continue;
        const double n = p.grad().norm(2).item<double>();
        total += std::pow(n, 2.0);
    }
    return std::pow(total, 1.0 / 2.0);
}

}  // namespace troupe::sovits::train
