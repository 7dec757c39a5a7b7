// train/adamw.hpp — torch.optim.AdamW as PyTorch's single-tensor path computes it (the CPU default),
// with parameter groups, and the ExponentialLR schedule s2_train.py puts on it. Own implementation
// (not torch::optim) so that the arithmetic follows Python's op for op (lerp for the first moment,
// decoupled decay before the moments) and the state is plain tensors for resumable runs.
#pragma once

#include <ATen/Tensor.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace troupe::sovits::train {

struct AdamWGroup {
    std::vector<std::pair<std::string, at::Tensor>> params;  // (name, parameter)
    double lr = 1e-4;
    double initial_lr = 1e-4;  // what ExponentialLR decays from
};

struct AdamWOptions {
    double beta1 = 0.8, beta2 = 0.99, eps = 1e-9;
    double weight_decay = 0.01;  // torch's AdamW default (s2_train.py does not set it)
};

class AdamW {
public:
    AdamW(std::vector<AdamWGroup> groups, const AdamWOptions& options);

    /// One step over every parameter that has a gradient (others are skipped: no decay, no state).
    void step();
    /// optimizer.zero_grad() (set_to_none, torch ≥ 2.0's default).
    void zero_grad();
    /// Every parameter of every group.
    std::vector<at::Tensor> parameters() const;

    std::vector<AdamWGroup>& groups() { return groups_; }
    const std::vector<AdamWGroup>& groups() const { return groups_; }
    const AdamWOptions& options() const { return options_; }

    /// State for a resumable run: "<name>.exp_avg", "<name>.exp_avg_sq" tensors and per-parameter
    /// step counts plus the group learning rates as JSON.
    std::vector<std::pair<std::string, at::Tensor>> state_tensors() const;
    nlohmann::json state_scalars() const;
    /// Restores what state_tensors()/state_scalars() gave. Throws Error(invalid_file) on a mismatch.
    void load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const nlohmann::json& scalars,
                    const std::string& source);

private:
    struct ParamState {
        int64_t step = 0;
        at::Tensor exp_avg, exp_avg_sq;
    };
    std::vector<AdamWGroup> groups_;
    AdamWOptions options_;
    std::vector<std::vector<ParamState>> state_;  // per group, per parameter
};

/// torch.optim.lr_scheduler.ExponentialLR: every step() multiplies each group's lr by gamma (the
/// chainable form, so lrs are products, not powers).
class ExponentialLr {
public:
    ExponentialLr(AdamW& optimizer, double gamma) : opt_(&optimizer), gamma_(gamma) {}
    void step();
    int64_t epochs() const { return last_epoch_; }
    void set_epochs(int64_t e) { last_epoch_ = e; }

private:
    AdamW* opt_;
    double gamma_;
    int64_t last_epoch_ = 0;
};

/// commons.clip_grad_value_(params, None): the total L2 norm of the gradients (float32 norms per
/// tensor, squared and summed in double), no clipping.
double grad_norm(const std::vector<at::Tensor>& params);

}  // namespace troupe::sovits::train
