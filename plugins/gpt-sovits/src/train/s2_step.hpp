// train/s2_step.hpp — one iteration of upstream's s2_train.py train_and_evaluate (fp32, GradScaler
// off): the generator forward (s2_model.hpp), mel of the spectrogram and of y_hat, the discriminator
// step on y / y_hat.detach(), then the generator step against the UPDATED discriminator with the
// LSGAN adversarial loss, feature matching, mel L1 × c_mel, KL × c_kl and the (zero) commitment loss.
// Optimizers as s2_train.py `run` builds them: AdamW over the generator in 4 groups (everything else;
// enc_p.text_embedding, enc_p.encoder_text, enc_p.mrte at lr × text_low_lr_rate) and over the
// discriminator; ExponentialLR stepped per epoch — and once before the first epoch (upstream's quirk).
#pragma once

#include "train/adamw.hpp"
#include "train/s2_model.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace troupe::sovits::train {

struct S2StepOptions {
    double learning_rate = 1e-4;
    double text_low_lr_rate = 0.4;
    double lr_decay = 0.999875;  // ExponentialLR gamma, per epoch
    AdamWOptions adamw;
    double c_mel = 45, c_kl = 1.0;
    int64_t segment_size = 20480;  // samples (segment_size / hop frames of z are decoded)
    int64_t n_mels = 128;
    double mel_fmin = 0;
    std::optional<double> mel_fmax;
    /// Upstream steps ExponentialLR once before epoch 1, so epoch e trains at lr·gamma^e. true (opt-in
    /// correction): epoch e trains at lr·gamma^(e−1).
    bool fix_lr_decay_offset = false;
};

/// The discriminator losses: loss = Σ_k mean((1 − D_k(y))²) + mean(D_k(ŷ)²), and the per-k terms.
struct DiscriminatorLoss {
    at::Tensor loss;
    std::vector<double> real, fake;
};
DiscriminatorLoss discriminator_loss(const std::vector<at::Tensor>& real, const std::vector<at::Tensor>& fake);
/// Σ_k mean((1 − D_k(ŷ))²) and the per-k terms.
std::pair<at::Tensor, std::vector<at::Tensor>> generator_loss(const std::vector<at::Tensor>& fake);
/// 2 · Σ_k Σ_layers mean|f_r.detach() − f_g|.
at::Tensor feature_loss(const std::vector<std::vector<at::Tensor>>& fmap_r, const std::vector<std::vector<at::Tensor>>& fmap_g);
/// Σ (logs_p − logs_q − 0.5 + 0.5 (z_p − m_p)² e^(−2 logs_p)) · mask / Σ mask.
at::Tensor kl_loss(const at::Tensor& z_p, const at::Tensor& logs_q, const at::Tensor& m_p, const at::Tensor& logs_p,
                   const at::Tensor& mask);

struct S2StepResult {
    S2ForwardOutput fwd;
    at::Tensor mel, y_mel, y_hat_mel, y;  // log-mel of spec, its slice, log-mel of y_hat, the wav slice
    s2::DiscriminatorOutput d_step, g_step;   // discriminator outputs in the D step and in the G step
    DiscriminatorLoss disc;
    std::vector<at::Tensor> losses_gen;
    at::Tensor loss_gen, loss_fm, loss_mel, loss_kl, kl_unscaled, loss_gen_all;
    double grad_norm_d = 0, grad_norm_g = 0;
    double lr_g = 0, lr_d = 0;  // group-0 learning rates used
};

/// Optional: what happens between the backward passes and the optimizer steps (tests read the
/// gradients there).
struct S2StepHooks {
    std::function<void()> after_d_backward, after_g_backward;
};

class S2TrainStep {
public:
    S2TrainStep(S2Networks& nets, const S2StepOptions& options);

    /// One iteration on `batch` (on the networks' device) with `random`'s draws.
    S2StepResult run(const S2Batch& batch, S2RandomSource& random, const S2StepHooks& hooks = {});
    /// The schedulers' per-epoch step (call once after every epoch; the constructor already applied
    /// upstream's extra step before epoch 1 unless fix_lr_decay_offset).
    void end_epoch();

    AdamW& optim_g() { return *optim_g_; }
    AdamW& optim_d() { return *optim_d_; }
    ExponentialLr& scheduler_g() { return *sched_g_; }
    ExponentialLr& scheduler_d() { return *sched_d_; }
    const S2StepOptions& options() const { return options_; }
    const at::Tensor& mel_basis() const { return mel_basis_; }
    int64_t segment_frames() const;

private:
    S2Networks* nets_;
    S2StepOptions options_;
    std::unique_ptr<AdamW> optim_g_, optim_d_;
    std::unique_ptr<ExponentialLr> sched_g_, sched_d_;
    at::Tensor mel_basis_;
};

/// Upstream's four generator parameter groups (names in named_parameters() order): base (everything
/// else), enc_p.text_embedding.*, enc_p.encoder_text.*, enc_p.mrte.*.
std::vector<AdamWGroup> generator_param_groups(s2::SynthesizerImpl& g, double lr, double text_low_lr_rate);

}  // namespace troupe::sovits::train
