// train/lr_schedule.hpp — upstream's S1 learning-rate schedule (AR/modules/lr_schedulers.py
// WarmupCosineLRSchedule), stepped once per optimizer step after it.
//
// As upstream ships it (`locked`, the default): step() computes the warm-up/cosine value and then
// overwrites it with a hard-coded 0.002 (`self.lr = lr = self.end_lr = 0.002`), and set_lr writes
// that into the optimizer. Its constructor never touches the optimizer, so the FIRST optimizer step
// runs at ScaledAdam's constructor lr (0.01) and every later one at 0.002, whatever the config's
// optimizer.lr / lr_init / lr_end / warmup_steps / decay_steps say. get_last_lr() (what upstream
// logs) is the group lr from before the last step(), initially [lr_init].
//
// Opt-in correction (`locked = false`): the optimizer starts at lr_init and every step() applies
// the schedule the config describes — linear warm-up from lr_init to lr (peak) over warmup_steps,
// then cosine decay to lr_end at decay_steps, lr_end after.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>

namespace troupe::sovits::train {

class ScaledAdam;

struct LrScheduleConfig {
    double lr = 0.01;        // optimizer.lr: the peak
    double lr_init = 1e-5;   // optimizer.lr_init
    double lr_end = 1e-4;    // optimizer.lr_end
    int64_t warmup_steps = 2000;
    int64_t decay_steps = 40000;  // total_steps
    bool locked = true;      // upstream's hard-coded 0.002
    static constexpr double kLockedLr = 0.002;
};

class WarmupCosineLr {
public:
    /// Throws Error(invalid_argument) for warmup_steps < 1, decay_steps <= warmup_steps or a
    /// negative or non-finite rate.
    explicit WarmupCosineLr(const LrScheduleConfig& config);

    /// The value the schedule computes at `step` (before upstream's lock).
    double scheduled(int64_t step) const;
    /// Called once at the start: the unlocked schedule puts lr_init into the optimizer (upstream
    /// leaves the constructor lr there).
    void attach(ScaledAdam& opt) const;
    /// Upstream step(): records the optimizer's lr as last_lr, sets the next one, advances.
    double step(ScaledAdam& opt);
    /// get_last_lr()[0].
    double last_lr() const { return last_lr_; }
    int64_t current_step() const { return current_step_; }
    const LrScheduleConfig& config() const { return config_; }

    nlohmann::json state() const;
    void load_state(const nlohmann::json& state);

private:
    LrScheduleConfig config_;
    int64_t current_step_ = 0;
    double last_lr_;
};

}  // namespace troupe::sovits::train
