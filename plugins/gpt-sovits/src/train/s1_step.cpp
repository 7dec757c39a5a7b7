#include "train/s1_step.hpp"

#include "s1/model.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/autograd.h>

#include <cmath>

namespace troupe::sovits::train {

std::vector<std::pair<std::string, at::Tensor>> named_params(const s1::Text2SemanticDecoderImpl& model) {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& p : model.named_parameters(true)) out.emplace_back(p.key(), p.value());
    return out;
}

S1TrainStep::S1TrainStep(std::shared_ptr<s1::Text2SemanticDecoderImpl> model, const S1StepOptions& options)
    : model_(std::move(model)), options_(options), sched_(options.schedule) {
    if (options_.accumulate < 1) throw Error(Errc::invalid_argument, "S1 training: accumulate must be at least 1");
    for (auto& p : model_->parameters(true)) p.set_requires_grad(true);  // all parameters train, as upstream
    opt_ = std::make_unique<ScaledAdam>(named_params(*model_), options_.optimizer);
    sched_.attach(*opt_);
}

S1StepResult S1TrainStep::run(const S1Batch& batch, int64_t batch_idx) {
    S1StepResult r;
    c10::AutoGradMode grad_mode(true);
    r.out = s1_loss(*model_, batch, options_.loss);
    r.out.loss.backward();
    r.out.loss = r.out.loss.detach();
    if (steps_after(batch_idx)) {
        double sq = 0;
        for (const auto& p : model_->parameters(true))
            if (p.grad().defined()) sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
        r.grad_norm = std::sqrt(sq);
        r.lr_used = opt_->lr();
        opt_->step();
        opt_->zero_grad();
        sched_.step(*opt_);
        r.stepped = true;
    }
    r.logged_lr = sched_.last_lr();
    return r;
}

}  // namespace troupe::sovits::train
