// train/scaled_adam.hpp — ScaledAdam, the optimizer upstream trains S1 with (GPT-SoVITS
// AR/modules/optim.py, from icefall), ported step for step:
//
//   - parameters of equal shape are stacked into batches (sorted by shape) and updated together;
//     the state lives per batch: delta (momentum of the update), exp_avg_sq, param_rms,
//     scale_exp_avg_sq, scale_grads;
//   - tensors (per-parameter numel > 1): Adam-like update scaled by the parameter's RMS
//     (clamped at param_min_rms), `delta = β1·delta − lr(1−β1)·rms·g/(√v̂ + eps)`, p += delta; every
//     size_update_period steps the RMS is re-measured and the parameter's overall scale is learnt
//     (`_size_update`, lr × scalar_lr_scale, limited by param_min_rms / param_max_rms);
//   - scalars: plain Adam without bias correction 1, at lr × scalar_lr_scale, clamped to
//     ±scalar_max before the update;
//   - clipping: from step 1 the RMS-weighted global gradient norm is recorded; every
//     clipping_update_period steps the threshold becomes clipping_scale × the median of the last
//     period; after the first period a step whose norm exceeds it is scaled down.
//
// Upstream quirk kept: the clipping factor scales only the gradient the size update sees
// (`grad = grad * clipping_scale` is not written back to p.grad), not the main Adam update.
#pragma once

#include <ATen/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace troupe::sovits::train {

struct ScaledAdamOptions {
    double lr = 0.01;  // upstream configure_optimizers
    double beta1 = 0.9, beta2 = 0.95;
    double clipping_scale = 2.0;  // <= 0: no clipping (upstream None)
    double scalar_lr_scale = 0.1;
    double eps = 1e-8;
    double param_min_rms = 1e-5, param_max_rms = 3.0;
    double scalar_max = 10.0;
    int64_t size_update_period = 4;
    int64_t clipping_update_period = 1000;
};

class ScaledAdam {
public:
    /// `params`: (name, leaf tensor with requires_grad), in the model's named_parameters() order.
    ScaledAdam(std::vector<std::pair<std::string, at::Tensor>> params, ScaledAdamOptions options);

    /// One update from the parameters' .grad (a missing grad counts as zeros). No autograd inside.
    void step();
    /// Drops every gradient (Lightning's zero_grad: set_to_none).
    void zero_grad();

    double lr() const { return options_.lr; }
    void set_lr(double lr) { options_.lr = lr; }
    const ScaledAdamOptions& options() const { return options_; }
    int64_t steps() const { return step_; }
    /// The clipping factor applied at the last step (1 when none).
    double last_clipping_scale() const { return last_clip_; }
    /// The recorded RMS-weighted gradient norms (clipping_update_period entries; undefined before step 1).
    const at::Tensor& model_norms() const { return model_norms_; }

    /// Each batch: its shape and member parameter names (for tests against upstream's grouping).
    std::vector<std::pair<std::vector<int64_t>, std::vector<std::string>>> batches() const;

    /// The whole state, for a resumable checkpoint: tensors by name ("b<i>.<field>") and scalars.
    std::vector<std::pair<std::string, at::Tensor>> state_tensors() const;
    nlohmann::json state_scalars() const;
    /// Restores what state_tensors()/state_scalars() returned (same parameter list); throws on mismatch.
    void load_state(const std::vector<std::pair<std::string, at::Tensor>>& tensors, const nlohmann::json& scalars);

private:
    struct Batch {
        std::vector<int64_t> shape;
        std::vector<size_t> members;  // indices into params_
        at::Tensor delta, exp_avg_sq, param_rms, scale_exp_avg_sq, scale_grads;
    };
    double clipping_factor(const std::vector<at::Tensor>& stacked_p, const std::vector<at::Tensor>& stacked_g);
    void step_batch(Batch& b, at::Tensor& p, const at::Tensor& grad, double clip);
    void size_update(Batch& b, const at::Tensor& p);
    void step_tensor(Batch& b, at::Tensor& p, const at::Tensor& grad);
    void step_scalar(Batch& b, at::Tensor& p, const at::Tensor& grad);

    std::vector<std::pair<std::string, at::Tensor>> params_;
    ScaledAdamOptions options_;
    std::vector<Batch> batches_;
    int64_t step_ = 0;
    at::Tensor model_norms_;
    bool has_threshold_ = false;
    double threshold_ = 0;
    int64_t num_clipped_ = 0;
    double last_clip_ = 1.0;
};

}  // namespace troupe::sovits::train
