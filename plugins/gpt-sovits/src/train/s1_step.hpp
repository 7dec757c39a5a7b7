// train/s1_step.hpp — upstream's Text2SemanticLightningModule.training_step (manual optimisation)
// on one micro-batch: forward + loss (s1_loss.hpp), backward (gradients accumulate), and — only
// when `batch_idx > 0 && batch_idx % 4 == 0` — ScaledAdam step, zero_grad and a schedule step.
// batch_idx counts micro-batches within the epoch (Lightning restarts it every epoch), so the
// first optimizer step of a run sums five micro-batches, later ones four, and the gradients left
// over at an epoch's end carry into the next epoch's first step — all as upstream.
#pragma once

#include "train/lr_schedule.hpp"
#include "train/s1_loss.hpp"
#include "train/scaled_adam.hpp"

#include <memory>

namespace troupe::sovits::train {

struct S1StepOptions {
    ScaledAdamOptions optimizer;
    LrScheduleConfig schedule;
    S1LossOptions loss;
    int64_t accumulate = 4;  // upstream's `batch_idx % 4`
};

struct S1StepResult {
    S1LossOutput out;
    bool stepped = false;      // the optimizer stepped after this micro-batch
    double lr_used = 0;        // the lr of that optimizer step
    double grad_norm = 0;      // L2 norm of the accumulated gradients it used (plain, all parameters)
    double logged_lr = 0;      // scheduler.get_last_lr()[0] after the call (what upstream logs)
};

class S1TrainStep {
public:
    S1TrainStep(std::shared_ptr<s1::Text2SemanticDecoderImpl> model, const S1StepOptions& options);

    /// One training_step(batch, batch_idx); the model must be in train() mode for dropout.
    S1StepResult run(const S1Batch& batch, int64_t batch_idx);
    /// True when upstream steps the optimizer after micro-batch `batch_idx`.
    bool steps_after(int64_t batch_idx) const { return batch_idx > 0 && batch_idx % options_.accumulate == 0; }

    ScaledAdam& optimizer() { return *opt_; }
    WarmupCosineLr& schedule() { return sched_; }
    s1::Text2SemanticDecoderImpl& model() { return *model_; }
    const S1StepOptions& options() const { return options_; }

private:
    std::shared_ptr<s1::Text2SemanticDecoderImpl> model_;
    S1StepOptions options_;
    std::unique_ptr<ScaledAdam> opt_;
    WarmupCosineLr sched_;
};

/// The model's parameters as (name, tensor) in named_parameters() order.
std::vector<std::pair<std::string, at::Tensor>> named_params(const s1::Text2SemanticDecoderImpl& model);

}  // namespace troupe::sovits::train
