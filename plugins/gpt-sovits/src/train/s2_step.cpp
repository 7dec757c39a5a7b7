#include "train/s2_step.hpp"

#include "s2/mel.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <tuple>

namespace troupe::sovits::train {

DiscriminatorLoss discriminator_loss(const std::vector<at::Tensor>& real, const std::vector<at::Tensor>& fake) {
    DiscriminatorLoss out;
    for (size_t k = 0; k < real.size(); ++k) {
        const at::Tensor r = at::mean((1 - real[k].to(at::kFloat)).pow(2));
        const at::Tensor g = at::mean(fake[k].to(at::kFloat).pow(2));
        out.loss = out.loss.defined() ? out.loss + (r + g) : r + g;
        out.real.push_back(r.item<double>());
        out.fake.push_back(g.item<double>());
    }
    return out;
}

std::pair<at::Tensor, std::vector<at::Tensor>> generator_loss(const std::vector<at::Tensor>& fake) {
    at::Tensor loss;
    std::vector<at::Tensor> terms;
    for (const auto& dg : fake) {
        const at::Tensor l = at::mean((1 - dg.to(at::kFloat)).pow(2));
        terms.push_back(l);
        loss = loss.defined() ? loss + l : l;
    }
    return {loss, terms};
}

at::Tensor feature_loss(const std::vector<std::vector<at::Tensor>>& fmap_r, const std::vector<std::vector<at::Tensor>>& fmap_g) {
    at::Tensor loss;
    for (size_t k = 0; k < fmap_r.size(); ++k)
        for (size_t l = 0; l < fmap_r[k].size(); ++l) {
            const at::Tensor t = at::mean(at::abs(fmap_r[k][l].to(at::kFloat).detach() - fmap_g[k][l].to(at::kFloat)));
            loss = loss.defined() ? loss + t : t;
        }
    return loss * 2;
}

at::Tensor kl_loss(const at::Tensor& z_p, const at::Tensor& logs_q, const at::Tensor& m_p, const at::Tensor& logs_p,
                   const at::Tensor& mask) {
    at::Tensor kl = logs_p.to(at::kFloat) - logs_q.to(at::kFloat) - 0.5;
    kl = kl + 0.5 * (z_p.to(at::kFloat) - m_p.to(at::kFloat)).pow(2) * at::exp(-2.0 * logs_p.to(at::kFloat));
    kl = at::sum(kl * mask.to(at::kFloat));
    return kl / at::sum(mask.to(at::kFloat));
}

std::vector<AdamWGroup> generator_param_groups(s2::SynthesizerImpl& g, double lr, double text_low_lr_rate) {
    std::vector<AdamWGroup> groups(4);
    const char* prefixes[3] = {"enc_p.text_embedding.", "enc_p.encoder_text.", "enc_p.mrte."};
    for (const auto& [name, p] : module_params(g)) {
        size_t gi = 0;
        for (size_t k = 0; k < 3; ++k)
            if (name.rfind(prefixes[k], 0) == 0) gi = k + 1;
        if (gi == 0 && !p.requires_grad()) continue;
        groups[gi].params.emplace_back(name, p);
    }
    for (size_t gi = 0; gi < 4; ++gi) groups[gi].lr = groups[gi].initial_lr = gi == 0 ? lr : lr * text_low_lr_rate;
    return groups;
}

S2TrainStep::S2TrainStep(S2Networks& nets, const S2StepOptions& o) : nets_(&nets), options_(o) {
    if (o.segment_size % nets.config.hop_length != 0)
        throw Error(Errc::invalid_argument, "S2 training: segment_size must be a multiple of the hop length");
    optim_g_ = std::make_unique<AdamW>(generator_param_groups(*nets.g, o.learning_rate, o.text_low_lr_rate), o.adamw);
    AdamWGroup d;
    d.params = module_params(*nets.d);
    d.lr = d.initial_lr = o.learning_rate;
    optim_d_ = std::make_unique<AdamW>(std::vector<AdamWGroup>{d}, o.adamw);
    sched_g_ = std::make_unique<ExponentialLr>(*optim_g_, o.lr_decay);
    sched_d_ = std::make_unique<ExponentialLr>(*optim_d_, o.lr_decay);
    if (!o.fix_lr_decay_offset) {  // s2_train.py: `for _ in range(epoch_str): scheduler.step()` with epoch_str = 1
        sched_g_->step();
        sched_d_->step();
    }
    s2::MelParams mp;
    mp.n_mels = o.n_mels;
    mp.fmin = o.mel_fmin;
    mp.fmax = o.mel_fmax;
    mel_basis_ = s2::mel_filter_bank(nets.config.sampling_rate, nets.config.filter_length, mp);
}

int64_t S2TrainStep::segment_frames() const { return options_.segment_size / nets_->config.hop_length; }

void S2TrainStep::end_epoch() {
    sched_g_->step();
    sched_d_->step();
}

S2StepResult S2TrainStep::run(const S2Batch& batch, S2RandomSource& random, const S2StepHooks& hooks) {
    S2Networks& n = *nets_;
    const s2::S2Config& c = n.config;
    s2::SpectrogramParams sp;
    sp.n_fft = c.filter_length;
    sp.hop = c.hop_length;
    sp.win = c.win_length;
    sp.sampling_rate = c.sampling_rate;
    const int64_t frames = segment_frames();

    S2StepResult r;
    r.lr_g = optim_g_->groups()[0].lr;
    r.lr_d = optim_d_->groups()[0].lr;
    n.g->train();
    n.d->train();
    r.fwd = s2_train_forward(*n.g, batch, frames, random);
    {
        c10::NoGradGuard no_grad;  // the spectrogram carries no gradient
        r.mel = s2::spec_to_mel(batch.spec, mel_basis_);
    }
    r.y_mel = slice_segments(r.mel, r.fwd.ids_slice, frames);
    r.y_hat_mel = s2::mel_spectrogram(r.fwd.y_hat.squeeze(1), sp, mel_basis_);
    r.y = slice_segments(batch.wav, r.fwd.ids_slice * c.hop_length, options_.segment_size);

    // Discriminator.
    r.d_step = n.d->forward(r.y, r.fwd.y_hat.detach());
    r.disc = discriminator_loss(r.d_step.real, r.d_step.fake);
    optim_d_->zero_grad();
    r.disc.loss.backward();
    if (hooks.after_d_backward) hooks.after_d_backward();
    r.grad_norm_d = grad_norm(optim_d_->parameters());
    optim_d_->step();

    // Generator, against the updated discriminator.
    r.g_step = n.d->forward(r.y, r.fwd.y_hat);
    r.loss_mel = at::l1_loss(r.y_mel, r.y_hat_mel) * options_.c_mel;
    r.kl_unscaled = kl_loss(r.fwd.z_p, r.fwd.logs_q, r.fwd.m_p, r.fwd.logs_p, r.fwd.y_mask);
    r.loss_kl = r.kl_unscaled * options_.c_kl;
    r.loss_fm = feature_loss(r.g_step.fmap_real, r.g_step.fmap_fake);
    std::tie(r.loss_gen, r.losses_gen) = generator_loss(r.g_step.fake);
    r.loss_gen_all = r.loss_gen + r.loss_fm + r.loss_mel + r.fwd.kl_ssl * 1 + r.loss_kl;
    optim_g_->zero_grad();
    r.loss_gen_all.backward();
    if (hooks.after_g_backward) hooks.after_g_backward();
    r.grad_norm_g = grad_norm(optim_g_->parameters());
    optim_g_->step();
    return r;
}

}  // namespace troupe::sovits::train
