#include "train/lr_schedule.hpp"

#include "train/scaled_adam.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>

namespace troupe::sovits::train {

WarmupCosineLr::WarmupCosineLr(const LrScheduleConfig& c) : config_(c), last_lr_(c.lr_init) {
    auto bad = [](double v) { return !std::isfinite(v) || v < 0 || v > 10; };
    if (bad(c.lr) || bad(c.lr_init) || bad(c.lr_end))
        throw Error(Errc::invalid_argument, fmt::format("S1 learning rates must be in [0, 10] (lr {}, lr_init {}, lr_end {})", c.lr, c.lr_init, c.lr_end));
    if (c.warmup_steps < 1 || c.decay_steps <= c.warmup_steps)
        throw Error(Errc::invalid_argument, fmt::format("S1 schedule needs 1 <= warmup_steps < decay_steps (got {} and {})",
                                                        c.warmup_steps, c.decay_steps));
}

double WarmupCosineLr::scheduled(int64_t s) const {
    const auto& c = config_;
    if (s < c.warmup_steps) return c.lr_init + (c.lr - c.lr_init) / double(c.warmup_steps) * double(s);
    if (s > c.decay_steps) return c.lr_end;
    const double ratio = double(s - c.warmup_steps) / double(c.decay_steps - c.warmup_steps);
    const double coeff = 0.5 * (1.0 + std::cos(M_PI * ratio));
    return c.lr_end + coeff * (c.lr - c.lr_end);
}

void WarmupCosineLr::attach(ScaledAdam& opt) const {
    if (!config_.locked) opt.set_lr(config_.lr_init);
}

double WarmupCosineLr::step(ScaledAdam& opt) {
    const double next = config_.locked ? LrScheduleConfig::kLockedLr : scheduled(current_step_);
    last_lr_ = opt.lr();
    opt.set_lr(next);
    ++current_step_;
    return next;
}

nlohmann::json WarmupCosineLr::state() const { return {{"current_step", current_step_}, {"last_lr", last_lr_}}; }

void WarmupCosineLr::load_state(const nlohmann::json& s) {
    current_step_ = s.at("current_step").get<int64_t>();
    last_lr_ = s.at("last_lr").get<double>();
}

}  // namespace troupe::sovits::train
