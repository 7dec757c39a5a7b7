#include "train/s1_trainer.hpp"

#include "s1/model.hpp"
#include "train/bucket_sampler.hpp"
#include "train/collate.hpp"
#include "train/s1_dataset.hpp"
#include "train/s1_export.hpp"
#include "train/s1_step.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <ATen/core/Generator.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

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

at::Generator generator_for(const c10::Device& d) { return at::globalContext().defaultGenerator(d.is_cuda() ? d : c10::Device(c10::kCPU)); }

struct Position {
    int64_t epoch = 0, batch_idx = 0, steps = 0, micro_batches = 0;
};

// Everything needed to continue exactly: weights (float32), accumulated gradients, optimizer,
// schedule, position, RNG state, and what the run was started with (checked on resume).
void save_state(const std::string& path, S1TrainStep& step, const Position& pos, const nlohmann::json& identity,
                const c10::Device& device) {
    std::vector<std::pair<std::string, at::Tensor>> t;
    for (const auto& [name, p] : named_params(step.model())) {
        t.emplace_back("param." + name, p.detach());
        if (p.grad().defined()) t.emplace_back("grad." + name, p.grad().detach());
    }
    for (auto& [k, v] : step.optimizer().state_tensors()) t.emplace_back("opt." + k, v);
    {
        at::Generator g = generator_for(c10::Device(c10::kCPU));
        std::lock_guard<std::mutex> lock(g.mutex());
        t.emplace_back("rng.cpu", g.get_state());
    }
    if (device.is_cuda()) {
        at::Generator g = generator_for(device);
        std::lock_guard<std::mutex> lock(g.mutex());
        t.emplace_back("rng.device", g.get_state());
    }
    const nlohmann::json meta = {{"format", 1},
                                 {"epoch", pos.epoch},
                                 {"batch_idx", pos.batch_idx},
                                 {"steps", pos.steps},
                                 {"micro_batches", pos.micro_batches},
                                 {"optimizer", step.optimizer().state_scalars()},
                                 {"schedule", step.schedule().state()},
                                 {"identity", identity}};
    st::save(path, t, {{kStateKey, meta.dump()}});
}

Position load_state(const std::string& path, S1TrainStep& step, const nlohmann::json& identity, const c10::Device& device) {
    const auto f = st::File::open(path);
    auto it = f.metadata().find(kStateKey);
    if (it == f.metadata().end()) throw Error(Errc::invalid_file, fmt::format("{}: not an S1 training state (no {} metadata)", path, kStateKey));
    nlohmann::json meta;
    try {
        meta = nlohmann::json::parse(it->second);
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: unreadable training state: {}", path, e.what()));
    }
    if (meta.value("identity", nlohmann::json()) != identity)
        throw Error(Errc::invalid_argument,
                    fmt::format("{}: this state was written by a run with other data, model or settings ({}); "
                                "use another output folder or delete the state to start over (now: {})",
                                path, meta.value("identity", nlohmann::json()).dump(), identity.dump()));
    torch::NoGradGuard no_grad;
    for (const auto& [name, p] : named_params(step.model())) {
        if (!f.contains("param." + name)) throw Error(Errc::invalid_file, fmt::format("{}: missing '{}'", path, "param." + name));
        p.detach().copy_(f.tensor("param." + name));
        if (f.contains("grad." + name))
            p.mutable_grad() = f.tensor("grad." + name).to(p.device(), p.scalar_type()).clone();
        else
            p.mutable_grad().reset();
    }
    std::vector<std::pair<std::string, at::Tensor>> opt;
    for (const auto& n : f.names())
        if (n.rfind("opt.", 0) == 0) opt.emplace_back(n.substr(4), f.tensor(n));
    step.optimizer().load_state(opt, meta.at("optimizer"));
    step.schedule().load_state(meta.at("schedule"));
    {
        at::Generator g = generator_for(c10::Device(c10::kCPU));
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_state(f.tensor("rng.cpu").clone());
    }
    if (device.is_cuda() && f.contains("rng.device")) {
        at::Generator g = generator_for(device);
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_state(f.tensor("rng.device").clone());
    }
    Position pos;
    pos.epoch = meta.at("epoch");
    pos.batch_idx = meta.at("batch_idx");
    pos.steps = meta.at("steps");
    pos.micro_batches = meta.at("micro_batches");
    return pos;
}

std::string fmt_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    const int64_t t = int64_t(s + 0.5);
    return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
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

S1TrainResult train_s1(const S1TrainConfig& cfg_in, const S1TrainHooks& hooks) {
    S1TrainConfig cfg = cfg_in;
    if (cfg.phoneme_path.empty()) cfg.phoneme_path = (fs::path(cfg.data_dir) / "2-name2text.txt").string();
    if (cfg.semantic_path.empty()) cfg.semantic_path = (fs::path(cfg.data_dir) / "6-name2semantic.tsv").string();
    cfg.schedule.locked = !cfg.fix_lr_schedule;
    cfg.validate();
    auto log = [&](const std::string& s) {
        if (hooks.log) hooks.log(s);
    };

    Setup setup = load_model(cfg);
    S1DatasetOptions dopt;
    dopt.phoneme_path = cfg.phoneme_path;
    dopt.semantic_path = cfg.semantic_path;
    dopt.max_sec = setup.config.max_sec;
    dopt.phoneme_vocab = setup.config.phoneme_vocab_size;
    dopt.semantic_vocab = setup.config.eos;
    const S1Dataset ds = load_s1_dataset(dopt);
    S1TrainResult res;
    res.items = ds.items.size();
    res.unique_items = ds.unique_items;
    res.batch_size = upstream_batch_size(cfg.batch_size, ds.items.size());
    std::vector<double> seconds;
    for (size_t i = 0; i < ds.items.size(); ++i) seconds.push_back(ds.seconds(i));
    const BucketSampler sampler(seconds, res.batch_size);
    const int64_t per_epoch = sampler.batches_per_epoch();
    log(fmt::format("S1: {} utterances ({} after upstream's repetition; dropped: {} too long, {} phones/s out of range, {} not prepared), "
                    "batch {}, {} micro-batches per epoch, {} epochs, optimizer step every {} micro-batches",
                    ds.unique_items, ds.items.size(), ds.dropped_too_long, ds.dropped_ps_ratio, ds.dropped_unprepared,
                    res.batch_size, per_epoch, cfg.epochs, cfg.accumulate));

    S1StepOptions sopt;
    sopt.optimizer = cfg.optimizer;
    sopt.schedule = cfg.schedule;
    sopt.loss.fix_text_padding_mask = cfg.fix_text_padding_mask;
    sopt.accumulate = cfg.accumulate;
    S1TrainStep step(setup.model, sopt);

    fs::create_directories(cfg.output_dir);
    const std::string state_path = s1_state_path(cfg.output_dir);
    res.state_path = state_path;
    // What must not change between a run and its resume.
    const nlohmann::json identity = {{"items", ds.items.size()},      {"batch_size", res.batch_size}, {"seed", cfg.seed},
                                     {"accumulate", cfg.accumulate},  {"dropout", cfg.dropout},
                                     {"fix_text_padding_mask", cfg.fix_text_padding_mask},
                                     {"fix_lr_schedule", cfg.fix_lr_schedule}, {"layers", setup.config.n_layer},
                                     {"hidden", setup.config.hidden_dim}};
    Position pos;
    if (cfg.resume && fs::exists(state_path)) {
        pos = load_state(state_path, step, identity, setup.device);
        res.resumed = true;
        log(fmt::format("S1: resumed from {} at epoch {}, micro-batch {}, {} optimizer steps", state_path, pos.epoch + 1,
                        pos.batch_idx, pos.steps));
    } else {
        at::manual_seed(cfg.seed);  // upstream seed_everything
    }
    res.steps = pos.steps;
    res.micro_batches = pos.micro_batches;
    res.epoch = pos.epoch;

    const nlohmann::json train = train_section(cfg);
    nlohmann::json export_cfg = export_config(setup.base_config, setup.config, train);
    export_cfg["pretrained_s1"] = cfg.pretrained;
    export_cfg["train_semantic_path"] = cfg.semantic_path;
    export_cfg["train_phoneme_path"] = cfg.phoneme_path;
    export_cfg["output_dir"] = cfg.output_dir;
    export_cfg["optimizer"] = {{"lr", cfg.schedule.lr}, {"lr_init", cfg.schedule.lr_init}, {"lr_end", cfg.schedule.lr_end},
                               {"warmup_steps", cfg.schedule.warmup_steps}, {"decay_steps", cfg.schedule.decay_steps}};
    auto export_now = [&](int64_t epoch_done, bool mid_epoch) {
        const std::string name = mid_epoch ? fmt::format("{}-e{}-s{}.ckpt", cfg.exp_name, epoch_done, res.steps)
                                           : fmt::format("{}-e{}.ckpt", cfg.exp_name, epoch_done);
        const std::string path = (fs::path(cfg.output_dir) / name).string();
        export_s1_checkpoint(path, step.model(), export_cfg, fmt::format("GPT-e{}", epoch_done));
        res.exported.push_back(path);
        log(fmt::format("S1: wrote {}", path));
    };
    auto save_now = [&]() {
        Position p{pos.epoch, pos.batch_idx, res.steps, res.micro_batches};
        save_state(state_path, step, p, identity, setup.device);
    };

    std::ofstream jsonl((fs::path(cfg.output_dir) / "train-log.jsonl").string(), std::ios::app);
    const int64_t total = cfg.epochs * per_epoch;
    const auto t0 = Clock::now();
    const int64_t done_at_start = res.micro_batches;
    bool stop_steps = false;
    for (; pos.epoch < cfg.epochs && !stop_steps; ++pos.epoch, pos.batch_idx = 0) {
        const auto batches = sampler.epoch_batches(pos.epoch);
        const auto e0 = Clock::now();
        S1EpochLog elog;
        elog.epoch = pos.epoch + 1;
        int64_t counted = 0;
        for (; pos.batch_idx < int64_t(batches.size()); ++pos.batch_idx) {
            if (hooks.should_stop && hooks.should_stop()) {
                save_now();
                res.interrupted = true;
                log(fmt::format("S1: stopped at epoch {}, micro-batch {}; state saved to {} (run again to resume)", pos.epoch + 1,
                                pos.batch_idx, state_path));
                return res;
            }
            const S1Batch batch = collate(ds, batches[size_t(pos.batch_idx)], setup.config.eos, setup.config.bert_dim).to(setup.device);
            const S1StepResult r = step.run(batch, pos.batch_idx);
            const double loss = r.out.loss.item<double>();
            if (!std::isfinite(loss))
                throw Error(Errc::runtime, fmt::format("S1: the loss became {} at epoch {}, micro-batch {} (learning rate too high?); "
                                                       "the last saved state is {}", loss, pos.epoch + 1, pos.batch_idx, state_path));
            res.losses.push_back(loss);
            ++res.micro_batches;
            if (r.stepped) ++res.steps;
            elog.loss += loss;
            elog.accuracy += r.out.accuracy;
            elog.lr = r.logged_lr;
            ++counted;
            if (hooks.progress) {
                S1Progress p;
                p.epoch = pos.epoch + 1;
                p.epochs = cfg.epochs;
                p.batch = pos.batch_idx + 1;
                p.batches = int64_t(batches.size());
                p.done = res.micro_batches;
                p.total = total;
                p.steps = res.steps;
                p.loss = loss;
                p.accuracy = r.out.accuracy;
                p.lr = r.logged_lr;
                p.elapsed_s = std::chrono::duration<double>(Clock::now() - t0).count();
                const int64_t run_here = res.micro_batches - done_at_start;
                p.eta_s = run_here > 0 ? p.elapsed_s / double(run_here) * double(total - res.micro_batches) : -1;
                hooks.progress(p);
            }
            if (cfg.max_steps > 0 && r.stepped && res.steps >= cfg.max_steps) {
                stop_steps = true;
                ++pos.batch_idx;
                break;
            }
        }
        elog.steps = res.steps;
        elog.seconds = std::chrono::duration<double>(Clock::now() - e0).count();
        if (counted > 0) {
            elog.loss /= double(counted);
            elog.accuracy /= double(counted);
        }
        if (stop_steps && pos.batch_idx < int64_t(batches.size())) {
            // Stopped mid-epoch by max_steps: export and keep the exact position for a later run.
            export_now(pos.epoch + 1, true);
            save_now();
            log(fmt::format("S1: reached max_steps {} at epoch {}, micro-batch {}", cfg.max_steps, pos.epoch + 1, pos.batch_idx));
            return res;
        }
        res.epochs.push_back(elog);
        res.epoch = pos.epoch + 1;
        log(fmt::format("epoch {}/{} | steps {} | loss {:.4f} | top_3_acc {:.4f} | lr {:.2e} | {}", elog.epoch, cfg.epochs,
                        elog.steps, elog.loss, elog.accuracy, elog.lr, fmt_duration(elog.seconds)));
        if (jsonl)
            jsonl << nlohmann::json{{"epoch", elog.epoch}, {"steps", elog.steps}, {"loss", elog.loss}, {"top_3_acc", elog.accuracy},
                                    {"lr", elog.lr}, {"seconds", elog.seconds}}.dump()
                  << "\n"
                  << std::flush;
        const bool last = pos.epoch + 1 == cfg.epochs || stop_steps;
        if ((pos.epoch + 1) % cfg.save_every_epochs == 0 || last) {
            export_now(pos.epoch + 1, false);
            Position next{pos.epoch + 1, 0, res.steps, res.micro_batches};
            save_state(state_path, step, next, identity, setup.device);
        }
    }
    return res;
}

}  // namespace troupe::sovits::train
