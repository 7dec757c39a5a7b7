#include "train/s1_trainer.hpp"

#include "s1/model.hpp"
#include "train/bucket_sampler.hpp"
#include "train/collate.hpp"
#include "train/s1_dataset.hpp"
#include "train/s1_export.hpp"
#include "train/s1_step.hpp"
#include "train/train_state.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

namespace troupe::sovits::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr const char* kStateKey = "troupe_s1_state";

void need(bool ok, const std::string& what) {
    if (!ok) throw Error(Errc::invalid_argument, "S1 training config: " + what);
}

struct Setup {
    std::shared_ptr<s1::Text2SemanticDecoderImpl> model;
    s1::S1Config config;
    nlohmann::json base_config;  // the pretrained checkpoint's config dict
    c10::Device device{c10::kCPU};
};

// The pretrained model in float32 on the device, with the configured dropout, in train mode.
Setup load_model(const S1TrainConfig& c) {
    Setup s;
    try {
        s.device = c10::Device(c.device);
    } catch (const std::exception&) {
        throw Error(Errc::invalid_argument, fmt::format("S1 training config: device '{}' is not a torch device (cpu, cuda, cuda:1)", c.device));
    }
    if (c.pretrained.empty()) throw Error(Errc::invalid_argument, "S1 training config: pretrained (the S1 .ckpt to start from) is required");
    s1::LoadedS1 loaded;
    try {
        loaded = s1::load_s1(c.pretrained, c10::Device(c10::kCPU), at::kFloat);
    } catch (const Error& e) {
        throw Error(e.code(), fmt::format("{} (is it a GPT-SoVITS v2 S1 .ckpt?)", e.what()));
    }
    s.config = loaded.config;
    s.config.layer_dropout = c.dropout;
    if (fs::path(c.pretrained).extension() != ".safetensors") {
        const auto ck = pt::Checkpoint::open(c.pretrained);
        if (const auto* cfg = ck.root().find("config")) s.base_config = pt::to_json(*cfg);
    }
    s.model = std::make_shared<s1::Text2SemanticDecoderImpl>(s.config);
    s1::StateDict state;
    for (const auto& p : loaded.model->named_parameters(true)) state[p.key()] = p.value();
    s.model->load_state(state, c.pretrained);
    if (s.device.is_cuda()) at::globalContext().setAllowTF32CuBLAS(c.tf32);
    s.model->to(s.device, at::kFloat);
    s.model->train();
    return s;
}

nlohmann::json train_section(const S1TrainConfig& c) {
    return {{"seed", c.seed},
            {"epochs", c.epochs},
            {"batch_size", c.batch_size},
            {"save_every_n_epoch", c.save_every_epochs},
            {"precision", "32"},
            {"if_save_every_weights", true},
            {"if_save_latest", true},
            {"if_dpo", false},
            {"half_weights_save_dir", c.output_dir},
            {"exp_name", c.exp_name}};
}

struct Position {
    int64_t epoch = 0, batch_idx = 0, steps = 0, micro_batches = 0;
};

// Everything needed to continue exactly: weights (float32), accumulated gradients, optimizer,
// schedule, position, RNG state, and what the run was started with (checked on resume).
void save_state(const std::string& path, S1TrainStep& step, const Position& pos, const nlohmann::json& identity,
                const c10::Device& device) {
    NamedTensors t;
    for (const auto& [name, p] : named_params(step.model())) {
        t.emplace_back("param." + name, p.detach());
        if (p.grad().defined()) t.emplace_back("grad." + name, p.grad().detach());
    }
    for (auto& [k, v] : step.optimizer().state_tensors()) t.emplace_back("opt." + k, v);
    write_state(path, std::move(t), device, kStateKey,
                {{"epoch", pos.epoch},
                 {"batch_idx", pos.batch_idx},
                 {"steps", pos.steps},
                 {"micro_batches", pos.micro_batches},
                 {"optimizer", step.optimizer().state_scalars()},
                 {"schedule", step.schedule().state()}},
                identity);
}

Position load_state(const std::string& path, S1TrainStep& step, const nlohmann::json& identity, const c10::Device& device) {
    const OpenedState f = open_state(path, kStateKey, "S1", identity);
    torch::NoGradGuard no_grad;
    for (const auto& [name, p] : named_params(step.model())) {
        p.detach().copy_(f.tensor("param." + name));
        if (f.contains("grad." + name))
            p.mutable_grad() = f.tensor("grad." + name).to(p.device(), p.scalar_type()).clone();
        else
            p.mutable_grad().reset();
    }
    step.optimizer().load_state(f.with_prefix("opt."), f.field("optimizer"));
    step.schedule().load_state(f.field("schedule"));
    f.restore_rng(device);
    Position pos;
    pos.epoch = f.integer("epoch");
    pos.batch_idx = f.integer("batch_idx");
    pos.steps = f.integer("steps");
    pos.micro_batches = f.integer("micro_batches");
    return pos;
}

}  // namespace

void S1TrainConfig::validate() const {
    need(!data_dir.empty() || (!phoneme_path.empty() && !semantic_path.empty()), "data (the `troupe tts prepare` folder) is required");
    need(!output_dir.empty(), "output (the folder for checkpoints and state) is required");
    need(!exp_name.empty() && exp_name.find('/') == std::string::npos, "name must be a plain file name");
    need(epochs >= 1 && epochs <= 100000, fmt::format("epochs must be in [1, 100000], got {}", epochs));
    need(batch_size >= 1 && batch_size <= 4096, fmt::format("batch_size must be in [1, 4096], got {}", batch_size));
    need(save_every_epochs >= 1, fmt::format("save_every_epochs must be at least 1, got {}", save_every_epochs));
    need(max_steps >= 0, fmt::format("max_steps must be >= 0, got {}", max_steps));
    need(accumulate >= 1 && accumulate <= 65536, fmt::format("accumulate must be in [1, 65536], got {}", accumulate));
    need(dropout >= 0 && dropout < 1, fmt::format("dropout must be in [0, 1), got {}", dropout));
    const auto& o = optimizer;
    need(std::isfinite(o.lr) && o.lr > 0 && o.lr <= 10, fmt::format("optimizer lr must be in (0, 10], got {}", o.lr));
    need(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 > 0 && o.beta2 < 1, "betas must be in [0, 1)");
    need(o.eps > 0 && o.param_min_rms > 0 && o.param_max_rms > o.param_min_rms && o.scalar_max > 0,
         "eps, param_min_rms < param_max_rms and scalar_max must be positive");
    need(o.size_update_period >= 1 && o.clipping_update_period >= 1, "update periods must be at least 1");
    WarmupCosineLr check(schedule);  // throws on absurd schedule values
    (void)check;
}

std::string s1_state_path(const std::string& output_dir) { return (fs::path(output_dir) / "state.safetensors").string(); }

namespace {

// One run: what train_s1 sets up once, and the loop over epochs and micro-batches.
class S1Run {
public:
    S1Run(const S1TrainConfig& cfg, const S1TrainHooks& hooks);
    S1TrainResult run();

private:
    void log(const std::string& s) const {
        if (hooks_.log) hooks_.log(s);
    }
    void load_data();
    void prepare_export_config();
    void export_now(int64_t epoch_done, bool mid_epoch);
    void save_now(const Position& p) { save_state(res_.state_path, *step_, p, identity_, setup_.device); }
    // Runs micro-batches from pos_.batch_idx to the end of the epoch (or a stop); false = stop now.
    bool run_epoch(const std::vector<std::vector<size_t>>& batches, S1EpochLog& elog);
    void report_progress(const S1StepResult& r, double loss, int64_t batches) const;
    void finish_epoch(const S1EpochLog& elog, bool last);

    S1TrainConfig cfg_;
    const S1TrainHooks& hooks_;
    Setup setup_;
    S1Dataset ds_;
    std::unique_ptr<BucketSampler> sampler_;
    std::unique_ptr<S1TrainStep> step_;
    nlohmann::json identity_, export_cfg_;
    std::ofstream jsonl_;
    Position pos_;
    S1TrainResult res_;
    int64_t per_epoch_ = 0, done_at_start_ = 0;
    bool stop_steps_ = false;
    Clock::time_point t0_ = Clock::now();
};

S1Run::S1Run(const S1TrainConfig& cfg_in, const S1TrainHooks& hooks) : cfg_(cfg_in), hooks_(hooks) {
    if (cfg_.phoneme_path.empty()) cfg_.phoneme_path = (fs::path(cfg_.data_dir) / "2-name2text.txt").string();
    if (cfg_.semantic_path.empty()) cfg_.semantic_path = (fs::path(cfg_.data_dir) / "6-name2semantic.tsv").string();
    cfg_.schedule.locked = !cfg_.fix_lr_schedule;
    cfg_.validate();
    setup_ = load_model(cfg_);
    load_data();
    S1StepOptions sopt;
    sopt.optimizer = cfg_.optimizer;
    sopt.schedule = cfg_.schedule;
    sopt.loss.fix_text_padding_mask = cfg_.fix_text_padding_mask;
    sopt.accumulate = cfg_.accumulate;
    step_ = std::make_unique<S1TrainStep>(setup_.model, sopt);
    // What must not change between a run and its resume.
    identity_ = {{"items", ds_.items.size()},         {"batch_size", res_.batch_size}, {"seed", cfg_.seed},
                 {"accumulate", cfg_.accumulate},     {"dropout", cfg_.dropout},
                 {"fix_text_padding_mask", cfg_.fix_text_padding_mask},
                 {"fix_lr_schedule", cfg_.fix_lr_schedule}, {"layers", setup_.config.n_layer},
                 {"hidden", setup_.config.hidden_dim}};
    prepare_export_config();
}

void S1Run::load_data() {
    S1DatasetOptions dopt;
    dopt.phoneme_path = cfg_.phoneme_path;
    dopt.semantic_path = cfg_.semantic_path;
    dopt.max_sec = setup_.config.max_sec;
    dopt.phoneme_vocab = setup_.config.phoneme_vocab_size;
    dopt.semantic_vocab = setup_.config.eos;
    ds_ = load_s1_dataset(dopt);
    res_.items = ds_.items.size();
    res_.unique_items = ds_.unique_items;
    res_.batch_size = upstream_batch_size(cfg_.batch_size, ds_.items.size());
    std::vector<double> seconds;
    for (size_t i = 0; i < ds_.items.size(); ++i) seconds.push_back(ds_.seconds(i));
    sampler_ = std::make_unique<BucketSampler>(seconds, res_.batch_size);
    per_epoch_ = sampler_->batches_per_epoch();
    log(fmt::format("S1: {} utterances ({} after upstream's repetition; dropped: {} too long, {} phones/s out of range, {} not prepared), "
                    "batch {}, {} micro-batches per epoch, {} epochs, optimizer step every {} micro-batches",
                    ds_.unique_items, ds_.items.size(), ds_.dropped_too_long, ds_.dropped_ps_ratio, ds_.dropped_unprepared,
                    res_.batch_size, per_epoch_, cfg_.epochs, cfg_.accumulate));
}

void S1Run::prepare_export_config() {
    export_cfg_ = export_config(setup_.base_config, setup_.config, train_section(cfg_));
    export_cfg_["pretrained_s1"] = cfg_.pretrained;
    export_cfg_["train_semantic_path"] = cfg_.semantic_path;
    export_cfg_["train_phoneme_path"] = cfg_.phoneme_path;
    export_cfg_["output_dir"] = cfg_.output_dir;
    export_cfg_["optimizer"] = {{"lr", cfg_.schedule.lr},
                                {"lr_init", cfg_.schedule.lr_init},
                                {"lr_end", cfg_.schedule.lr_end},
                                {"warmup_steps", cfg_.schedule.warmup_steps},
                                {"decay_steps", cfg_.schedule.decay_steps}};
}

void S1Run::export_now(int64_t epoch_done, bool mid_epoch) {
    const std::string name = mid_epoch ? fmt::format("{}-e{}-s{}.ckpt", cfg_.exp_name, epoch_done, res_.steps)
                                       : fmt::format("{}-e{}.ckpt", cfg_.exp_name, epoch_done);
    const std::string path = (fs::path(cfg_.output_dir) / name).string();
    export_s1_checkpoint(path, step_->model(), export_cfg_, fmt::format("GPT-e{}", epoch_done));
    res_.exported.push_back(path);
    log(fmt::format("S1: wrote {}", path));
}

void S1Run::report_progress(const S1StepResult& r, double loss, int64_t batches) const {
    if (!hooks_.progress) return;
    S1Progress p;
    p.epoch = pos_.epoch + 1;
    p.epochs = cfg_.epochs;
    p.batch = pos_.batch_idx + 1;
    p.batches = batches;
    p.done = res_.micro_batches;
    p.total = cfg_.epochs * per_epoch_;
    p.steps = res_.steps;
    p.loss = loss;
    p.accuracy = r.out.accuracy;
    p.lr = r.logged_lr;
    p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0_).count();
    const int64_t run_here = res_.micro_batches - done_at_start_;
    p.eta_s = run_here > 0 ? p.elapsed_s / double(run_here) * double(p.total - res_.micro_batches) : -1;
    hooks_.progress(p);
}

bool S1Run::run_epoch(const std::vector<std::vector<size_t>>& batches, S1EpochLog& elog) {
    int64_t counted = 0;
    for (; pos_.batch_idx < int64_t(batches.size()); ++pos_.batch_idx) {
        if (hooks_.should_stop && hooks_.should_stop()) {
            save_now(Position{pos_.epoch, pos_.batch_idx, res_.steps, res_.micro_batches});
            res_.interrupted = true;
            log(fmt::format("S1: stopped at epoch {}, micro-batch {}; state saved to {} (run again to resume)", pos_.epoch + 1,
                            pos_.batch_idx, res_.state_path));
            return false;
        }
        const S1Batch batch =
            collate(ds_, batches[size_t(pos_.batch_idx)], setup_.config.eos, setup_.config.bert_dim).to(setup_.device);
        const S1StepResult r = step_->run(batch, pos_.batch_idx);
        const double loss = r.out.loss.item<double>();
        if (!std::isfinite(loss))
            throw Error(Errc::runtime, fmt::format("S1: the loss became {} at epoch {}, micro-batch {} (learning rate too high?); "
                                                   "the last saved state is {}", loss, pos_.epoch + 1, pos_.batch_idx, res_.state_path));
        res_.losses.push_back(loss);
        ++res_.micro_batches;
        if (r.stepped) ++res_.steps;
        elog.loss += loss;
        elog.accuracy += r.out.accuracy;
        elog.lr = r.logged_lr;
        ++counted;
        report_progress(r, loss, int64_t(batches.size()));
        if (cfg_.max_steps > 0 && r.stepped && res_.steps >= cfg_.max_steps) {
            stop_steps_ = true;
            ++pos_.batch_idx;
            break;
        }
    }
    if (counted > 0) {
        elog.loss /= double(counted);
        elog.accuracy /= double(counted);
    }
    elog.steps = res_.steps;
    if (stop_steps_ && pos_.batch_idx < int64_t(batches.size())) {
        // Stopped mid-epoch by max_steps: export and keep the exact position for a later run.
        export_now(pos_.epoch + 1, true);
        save_now(Position{pos_.epoch, pos_.batch_idx, res_.steps, res_.micro_batches});
        log(fmt::format("S1: reached max_steps {} at epoch {}, micro-batch {}", cfg_.max_steps, pos_.epoch + 1, pos_.batch_idx));
        return false;
    }
    return true;
}

void S1Run::finish_epoch(const S1EpochLog& elog, bool last) {
    res_.epochs.push_back(elog);
    res_.epoch = pos_.epoch + 1;
    log(fmt::format("epoch {}/{} | steps {} | loss {:.4f} | top_3_acc {:.4f} | lr {:.2e} | {}", elog.epoch, cfg_.epochs, elog.steps,
                    elog.loss, elog.accuracy, elog.lr, fmt_duration(elog.seconds)));
    if (jsonl_)
        jsonl_ << nlohmann::json{{"epoch", elog.epoch}, {"steps", elog.steps}, {"loss", elog.loss}, {"top_3_acc", elog.accuracy},
                                 {"lr", elog.lr}, {"seconds", elog.seconds}}.dump()
               << "\n"
               << std::flush;
    if ((pos_.epoch + 1) % cfg_.save_every_epochs == 0 || last) {
        export_now(pos_.epoch + 1, false);
        save_now(Position{pos_.epoch + 1, 0, res_.steps, res_.micro_batches});
    }
}

S1TrainResult S1Run::run() {
    fs::create_directories(cfg_.output_dir);
    res_.state_path = s1_state_path(cfg_.output_dir);
    if (cfg_.resume && fs::exists(res_.state_path)) {
        pos_ = load_state(res_.state_path, *step_, identity_, setup_.device);
        res_.resumed = true;
        log(fmt::format("S1: resumed from {} at epoch {}, micro-batch {}, {} optimizer steps", res_.state_path, pos_.epoch + 1,
                        pos_.batch_idx, pos_.steps));
    } else {
        at::manual_seed(cfg_.seed);  // upstream seed_everything
    }
    res_.steps = pos_.steps;
    res_.micro_batches = done_at_start_ = pos_.micro_batches;
    res_.epoch = pos_.epoch;
    if (cfg_.max_steps > 0 && res_.steps >= cfg_.max_steps) {  // a run again with the limit it already reached
        log(fmt::format("S1: {} already has {} optimizer steps (max_steps {}); nothing to train", res_.state_path, res_.steps,
                        cfg_.max_steps));
        return res_;
    }
    jsonl_.open((fs::path(cfg_.output_dir) / "train-log.jsonl").string(), std::ios::app);
    t0_ = Clock::now();
    for (; pos_.epoch < cfg_.epochs && !stop_steps_; ++pos_.epoch, pos_.batch_idx = 0) {
        const auto batches = sampler_->epoch_batches(pos_.epoch);
        const auto e0 = Clock::now();
        S1EpochLog elog;
        elog.epoch = pos_.epoch + 1;
        if (!run_epoch(batches, elog)) return res_;
        elog.seconds = std::chrono::duration<double>(Clock::now() - e0).count();
        finish_epoch(elog, pos_.epoch + 1 == cfg_.epochs || stop_steps_);
    }
    return res_;
}

}  // namespace

S1TrainResult train_s1(const S1TrainConfig& config, const S1TrainHooks& hooks) { return S1Run(config, hooks).run(); }

}  // namespace troupe::sovits::train
