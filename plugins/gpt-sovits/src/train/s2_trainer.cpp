#include "train/s2_trainer.hpp"

#include "train/s2_dataset.hpp"
#include "train/s2_export.hpp"
#include "train/train_state.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace troupe::sovits::train {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
constexpr const char* kStateKey = "troupe_s2_state";

void need(bool ok, const std::string& what) {
    if (!ok) throw Error(Errc::invalid_argument, "S2 training config: " + what);
}

struct Position {
    int64_t epoch = 1, batch_idx = 0, steps = 0;  // epoch is upstream's 1-based number
};

void save_state(const std::string& path, S2Networks& n, S2TrainStep& step, const Position& pos, const nlohmann::json& identity,
                const c10::Device& device) {
    NamedTensors t;
    for (const auto& [k, v] : module_params(*n.g)) t.emplace_back("g." + k, v.detach());
    for (const auto& [k, v] : module_params(*n.d)) t.emplace_back("d." + k, v.detach());
    for (auto& [k, v] : step.optim_g().state_tensors()) t.emplace_back("opt_g." + k, v);
    for (auto& [k, v] : step.optim_d().state_tensors()) t.emplace_back("opt_d." + k, v);
    write_state(path, std::move(t), device, kStateKey,
                {{"epoch", pos.epoch},
                 {"batch_idx", pos.batch_idx},
                 {"steps", pos.steps},
                 {"optim_g", step.optim_g().state_scalars()},
                 {"optim_d", step.optim_d().state_scalars()},
                 {"scheduler_epochs", step.scheduler_g().epochs()}},
                identity);
}

Position load_state(const std::string& path, S2Networks& n, S2TrainStep& step, const nlohmann::json& identity,
                    const c10::Device& device) {
    const OpenedState f = open_state(path, kStateKey, "S2", identity);
    c10::NoGradGuard no_grad;
    for (const auto& [k, v] : module_params(*n.g)) v.detach().copy_(f.tensor("g." + k));
    for (const auto& [k, v] : module_params(*n.d)) v.detach().copy_(f.tensor("d." + k));
    step.optim_g().load_state(f.with_prefix("opt_g."), f.field("optim_g"), path);
    step.optim_d().load_state(f.with_prefix("opt_d."), f.field("optim_d"), path);
    step.scheduler_g().set_epochs(f.integer("scheduler_epochs"));
    step.scheduler_d().set_epochs(f.integer("scheduler_epochs"));
    f.restore_rng(device);
    return {f.integer("epoch"), f.integer("batch_idx"), f.integer("steps")};
}

// Sums of one epoch's losses (divided by the step count at the end of the epoch).
void accumulate(S2EpochLog& e, const S2StepResult& r) {
    e.loss_d += r.disc.loss.item<double>();
    e.loss_gen += r.loss_gen.item<double>();
    e.loss_fm += r.loss_fm.item<double>();
    e.loss_mel += r.loss_mel.item<double>();
    e.loss_kl += r.loss_kl.item<double>();
    e.loss_g += r.loss_gen_all.item<double>();
    e.lr = r.lr_g;
}

// The per-epoch log line and its train-log.jsonl record.
void log_epoch(const S2EpochLog& e, int64_t epochs, const std::function<void(const std::string&)>& log, std::ofstream& jsonl) {
    log(fmt::format("epoch {}/{} | steps {} | loss_d {:.4f} | loss_g {:.4f} (gen {:.4f}, fm {:.4f}, mel {:.4f}, kl {:.4f}) | lr {:.3e} | {}",
                    e.epoch, epochs, e.steps, e.loss_d, e.loss_g, e.loss_gen, e.loss_fm, e.loss_mel, e.loss_kl, e.lr,
                    fmt_duration(e.seconds)));
    if (jsonl)
        jsonl << nlohmann::json{{"epoch", e.epoch}, {"steps", e.steps}, {"loss_d", e.loss_d}, {"loss_gen", e.loss_gen},
                                {"loss_fm", e.loss_fm}, {"loss_mel", e.loss_mel}, {"loss_kl", e.loss_kl}, {"loss_g", e.loss_g},
                                {"lr", e.lr}, {"seconds", e.seconds}}.dump()
              << "\n" << std::flush;
}

}  // namespace

void S2TrainConfig::validate() const {
    need(!data_dir.empty(), "data (the `troupe tts prepare` folder) is required");
    need(!pretrained_g.empty(), "pretrained_s2G (the S2 .pth to start from) is required");
    need(!output_dir.empty(), "output (the folder for weights and state) is required");
    need(!exp_name.empty() && exp_name.find('/') == std::string::npos, "name must be a plain file name");
    need(epochs >= 1 && epochs <= 100000, fmt::format("epochs must be in [1, 100000], got {}", epochs));
    need(batch_size >= 1 && batch_size <= 4096, fmt::format("batch_size must be in [1, 4096], got {}", batch_size));
    need(save_every_epochs >= 1, fmt::format("save_every_epoch must be at least 1, got {}", save_every_epochs));
    need(max_steps >= 0, fmt::format("max_steps must be >= 0, got {}", max_steps));
    need(dropout < 1, fmt::format("dropout must be < 1, got {}", dropout));
    const auto& s = step;
    need(std::isfinite(s.learning_rate) && s.learning_rate > 0 && s.learning_rate <= 1,
         fmt::format("learning_rate must be in (0, 1], got {}", s.learning_rate));
    need(s.text_low_lr_rate > 0 && s.text_low_lr_rate <= 10, "text_low_lr_rate must be in (0, 10]");
    need(s.lr_decay > 0 && s.lr_decay <= 1, "lr_decay must be in (0, 1]");
    need(s.adamw.beta1 >= 0 && s.adamw.beta1 < 1 && s.adamw.beta2 > 0 && s.adamw.beta2 < 1, "betas must be in [0, 1)");
    need(s.adamw.eps > 0 && s.adamw.weight_decay >= 0, "eps must be > 0 and weight_decay >= 0");
    need(s.c_mel >= 0 && s.c_kl >= 0, "c_mel and c_kl must be >= 0");
    need(s.segment_size > 0, "segment_size must be positive");
}

std::string s2_state_path(const std::string& output_dir) { return (fs::path(output_dir) / "s2-state.safetensors").string(); }

nlohmann::json s2_export_hps(const S2Networks& n, const S2TrainConfig& c) {
    nlohmann::json hps = n.hps.is_object() ? n.hps : nlohmann::json::object();
    auto& data = hps["data"];
    if (!data.is_object()) data = nlohmann::json::object();
    const s2::S2Config& m = n.config;
    data["sampling_rate"] = m.sampling_rate;
    data["filter_length"] = m.filter_length;
    data["hop_length"] = m.hop_length;
    data["win_length"] = m.win_length;
    data["n_mel_channels"] = c.step.n_mels;
    data["exp_dir"] = c.data_dir;
    auto& model = hps["model"];
    if (!model.is_object()) model = nlohmann::json::object();
    model["inter_channels"] = m.inter_channels;
    model["hidden_channels"] = m.hidden_channels;
    model["filter_channels"] = m.filter_channels;
    model["n_heads"] = m.n_heads;
    model["n_layers"] = m.n_layers;
    model["kernel_size"] = m.kernel_size;
    model["resblock"] = m.resblock;
    model["resblock_kernel_sizes"] = m.resblock_kernel_sizes;
    model["resblock_dilation_sizes"] = m.resblock_dilation_sizes;
    model["upsample_rates"] = m.upsample_rates;
    model["upsample_initial_channel"] = m.upsample_initial_channel;
    model["upsample_kernel_sizes"] = m.upsample_kernel_sizes;
    model["gin_channels"] = m.gin_channels;
    model["semantic_frame_rate"] = m.semantic_frame_rate;
    model["freeze_quantizer"] = true;
    model["version"] = m.version;
    if (!model.contains("p_dropout")) model["p_dropout"] = m.p_dropout;
    auto& train = hps["train"];
    if (!train.is_object()) train = nlohmann::json::object();
    train["seed"] = c.seed;
    train["epochs"] = c.epochs;
    train["learning_rate"] = c.step.learning_rate;
    train["betas"] = {c.step.adamw.beta1, c.step.adamw.beta2};
    train["eps"] = c.step.adamw.eps;
    train["batch_size"] = c.batch_size;
    train["fp16_run"] = false;
    train["lr_decay"] = c.step.lr_decay;
    train["segment_size"] = c.step.segment_size;
    train["c_mel"] = c.step.c_mel;
    train["c_kl"] = c.step.c_kl;
    train["text_low_lr_rate"] = c.step.text_low_lr_rate;
    train["pretrained_s2G"] = c.pretrained_g;
    train["pretrained_s2D"] = c.pretrained_d;
    train["save_every_epoch"] = c.save_every_epochs;
    hps["s2_ckpt_dir"] = c.output_dir;
    hps["save_weight_dir"] = c.output_dir;
    hps["name"] = c.exp_name;
    hps["version"] = m.version;
    if (!hps.contains("content_module")) hps["content_module"] = "cnhubert";
    return hps;
}

S2TrainResult train_s2(const S2TrainConfig& cfg, const S2TrainHooks& hooks) {
    cfg.validate();
    const std::function<void(const std::string&)> log = [&](const std::string& s) {
        if (hooks.log) hooks.log(s);
    };
    c10::Device device(c10::kCPU);
    try {
        device = c10::Device(cfg.device);
    } catch (const std::exception&) {
        throw Error(Errc::invalid_argument, fmt::format("S2 training config: device '{}' is not a torch device (cpu, cuda, cuda:1)", cfg.device));
    }
    S2LoadOptions lo;
    lo.dropout = cfg.dropout;
    lo.device = device;
    S2Networks nets = load_s2_networks(cfg.pretrained_g, cfg.pretrained_d, lo);
    if (!nets.posterior_loaded) log(fmt::format("S2: {} has no enc_q (posterior encoder); it starts fresh", cfg.pretrained_g));
    if (!nets.discriminator_loaded) log("S2: no discriminator file given; the discriminator starts fresh");

    S2DatasetOptions dopt;
    dopt.data_dir = cfg.data_dir;
    dopt.sampling_rate = nets.config.sampling_rate;
    dopt.hop_length = nets.config.hop_length;
    dopt.filter_length = nets.config.filter_length;
    dopt.win_length = nets.config.win_length;
    dopt.ssl_dim = nets.config.ssl_dim;
    dopt.phone_vocab = nets.config.vocab;
    const S2Dataset ds = load_s2_dataset(dopt);
    std::vector<int64_t> lengths;
    for (const auto& it : ds.items) lengths.push_back(it.length);
    const S2BucketSampler sampler(lengths, cfg.batch_size);
    const int64_t per_epoch = sampler.batches_per_epoch();
    S2TrainResult res;
    res.items = ds.items.size();
    res.unique_items = ds.unique_items;
    log(fmt::format("S2: {} utterances ({} after upstream's repetition; {} outside 0.6-54 s, {} without features, {} outside the "
                    "sampler's 32-1900 frames), batch {}, {} steps per epoch, {} epochs",
                    ds.unique_items, ds.items.size(), ds.skipped_duration, ds.missing_features, sampler.dropped(), cfg.batch_size,
                    per_epoch, cfg.epochs));

    S2TrainStep step(nets, cfg.step);
    fs::create_directories(cfg.output_dir);
    const std::string state_path = s2_state_path(cfg.output_dir);
    res.state_path = state_path;
    const nlohmann::json identity = {{"items", ds.items.size()}, {"batch_size", cfg.batch_size}, {"seed", cfg.seed},
                                     {"dropout", cfg.dropout},   {"lr", cfg.step.learning_rate},
                                     {"fix_lr_decay_offset", cfg.step.fix_lr_decay_offset},
                                     {"hidden", nets.config.hidden_channels}, {"gin", nets.config.gin_channels}};
    Position pos;
    if (cfg.resume && fs::exists(state_path)) {
        pos = load_state(state_path, nets, step, identity, device);
        res.resumed = true;
        log(fmt::format("S2: resumed from {} at epoch {}, batch {}, {} steps", state_path, pos.epoch, pos.batch_idx, pos.steps));
    } else {
        at::manual_seed(cfg.seed);
    }
    res.steps = pos.steps;
    res.epoch = pos.epoch - 1;
    if (cfg.max_steps > 0 && res.steps >= cfg.max_steps) {  // a run again with the limit it already reached
        log(fmt::format("S2: {} already has {} steps (max_steps {}); nothing to train", state_path, res.steps, cfg.max_steps));
        return res;
    }
    const nlohmann::json hps = s2_export_hps(nets, cfg);
    auto export_now = [&](int64_t epoch) {
        const std::string path = (fs::path(cfg.output_dir) / fmt::format("{}_e{}_s{}.pth", cfg.exp_name, epoch, res.steps)).string();
        export_s2_weights(path, *nets.g, hps, epoch, res.steps);
        res.exported.push_back(path);
        log(fmt::format("S2: wrote {}", path));
    };

    std::ofstream jsonl((fs::path(cfg.output_dir) / "s2-train-log.jsonl").string(), std::ios::app);
    TorchRandomSource random;
    const int64_t total = cfg.epochs * per_epoch;
    const auto t0 = Clock::now();
    const int64_t steps_at_start = res.steps;
    bool stop_steps = false;
    for (; pos.epoch <= cfg.epochs && !stop_steps; ++pos.epoch, pos.batch_idx = 0) {
        const auto batches = sampler.epoch_batches(pos.epoch);
        const auto e0 = Clock::now();
        S2EpochLog elog;
        elog.epoch = pos.epoch;
        int64_t counted = 0;
        for (; pos.batch_idx < int64_t(batches.size()); ++pos.batch_idx) {
            if (hooks.should_stop && hooks.should_stop()) {
                save_state(state_path, nets, step, Position{pos.epoch, pos.batch_idx, res.steps}, identity, device);
                res.interrupted = true;
                log(fmt::format("S2: stopped at epoch {}, batch {}; state saved to {} (run again to resume)", pos.epoch, pos.batch_idx,
                                state_path));
                return res;
            }
            std::vector<S2Example> ex;
            for (size_t i : batches[size_t(pos.batch_idx)]) ex.push_back(load_s2_example(ds, i));
            const S2StepResult r = step.run(collate_s2(ex).to(device), random);
            const double lg = r.loss_gen_all.item<double>(), ld = r.disc.loss.item<double>();
            if (!std::isfinite(lg) || !std::isfinite(ld))
                throw Error(Errc::runtime, fmt::format("S2: the loss became {} / {} at epoch {}, batch {} (learning rate too high?); "
                                                       "the last saved state is {}", lg, ld, pos.epoch, pos.batch_idx, state_path));
            ++res.steps;
            res.losses_g.push_back(lg);
            res.losses_d.push_back(ld);
            accumulate(elog, r);
            ++counted;
            if (hooks.progress) {
                S2Progress p;
                p.epoch = pos.epoch;
                p.epochs = cfg.epochs;
                p.batch = pos.batch_idx + 1;
                p.batches = int64_t(batches.size());
                p.steps = res.steps;
                p.total = total;
                p.loss_g = lg;
                p.loss_d = ld;
                p.loss_mel = r.loss_mel.item<double>();
                p.lr = r.lr_g;
                p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
                const int64_t here = res.steps - steps_at_start;
                p.eta_s = here > 0 ? p.elapsed_s / double(here) * double(total - res.steps) : -1;
                hooks.progress(p);
            }
            if (cfg.max_steps > 0 && res.steps >= cfg.max_steps) {
                stop_steps = true;
                ++pos.batch_idx;
                break;
            }
        }
        if (counted > 0)
            for (double* v : {&elog.loss_d, &elog.loss_gen, &elog.loss_fm, &elog.loss_mel, &elog.loss_kl, &elog.loss_g}) *v /= double(counted);
        elog.steps = res.steps;
        elog.seconds = std::chrono::duration<double>(Clock::now() - e0).count();
        if (stop_steps && pos.batch_idx < int64_t(batches.size())) {
            export_now(pos.epoch);
            save_state(state_path, nets, step, Position{pos.epoch, pos.batch_idx, res.steps}, identity, device);
            log(fmt::format("S2: reached max_steps {} at epoch {}, batch {}", cfg.max_steps, pos.epoch, pos.batch_idx));
            return res;
        }
        res.epochs.push_back(elog);
        res.epoch = pos.epoch;
        log_epoch(elog, cfg.epochs, log, jsonl);
        step.end_epoch();  // scheduler_g/d.step() after every epoch
        const bool last = pos.epoch == cfg.epochs || stop_steps;
        if (pos.epoch % cfg.save_every_epochs == 0 || last) {
            export_now(pos.epoch);
            save_state(state_path, nets, step, Position{pos.epoch + 1, 0, res.steps}, identity, device);
        }
    }
    return res;
}

}  // namespace troupe::sovits::train
