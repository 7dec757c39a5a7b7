// troupe train s1 --config R.toml: GPT-SoVITS v2 S1 fine-tuning (plugins/gpt-sovits/src/train,
// docs/voice-training.md), a command of the gpt-sovits plugin. Reads the recipe, draws a progress bar
// with loss and ETA, prints the per-epoch log line, stops resumably on Ctrl-C (the host's cancel flag).
#include "train_recipe.hpp"
#include "tts_commands.hpp"

#include "train/s1_trainer.hpp"

#include <troupe/kit/toml.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace troupe::sovits::cli {
namespace {

namespace tr = sovits::train;
using kit::TableReader;

/// Reads a recipe (docs/voice-training.md); every error names file:line:column. Relative paths
/// resolve against the directory the command runs in.
tr::S1TrainConfig read_s1_recipe(const std::string& path) {
    toml::table table = kit::parse_toml_file(path);
    TableReader top(path, table);
    tr::S1TrainConfig c;
    {
        TableReader d(path, required_table(top, "data", "is required ([data] dir = \"<troupe tts prepare output>\")"), "data");
        c.data_dir = d.string("dir", true);
        c.phoneme_path = d.string("phonemes");
        c.semantic_path = d.string("semantic");
        d.reject_unknown();
    }
    {
        TableReader m(path, required_table(top, "model", "is required ([model] pretrained = \"<S1 .ckpt>\")"), "model");
        c.pretrained = m.string("pretrained", true);
        c.device = m.string("device", false, c.device);
        c.tf32 = m.boolean("tf32", c.tf32);
        m.reject_unknown();
    }
    read_output_table(path, top, c);
    if (const toml::table* t = top.table("train")) {
        TableReader o(path, *t, "train");
        read_common_train_keys(o, c);
        c.accumulate = o.integer("accumulate", c.accumulate, 1, 65536);
        c.dropout = o.number("dropout", c.dropout, 0.0, 0.99);
        o.reject_unknown();
    }
    if (const toml::table* t = top.table("optimizer")) {  // upstream config's optimizer section
        TableReader o(path, *t, "optimizer");
        c.schedule.lr = o.number("lr", c.schedule.lr, 0.0, 10.0);
        c.schedule.lr_init = o.number("lr_init", c.schedule.lr_init, 0.0, 10.0);
        c.schedule.lr_end = o.number("lr_end", c.schedule.lr_end, 0.0, 10.0);
        c.schedule.warmup_steps = o.integer("warmup_steps", c.schedule.warmup_steps, 1, INT64_MAX);
        c.schedule.decay_steps = o.integer("decay_steps", c.schedule.decay_steps, 2, INT64_MAX);
        o.reject_unknown();
    }
    if (const toml::table* t = top.table("scaled_adam")) {
        TableReader o(path, *t, "scaled_adam");
        auto& a = c.optimizer;
        a.lr = o.number("lr", a.lr, 1e-12, 10.0);
        a.beta1 = o.number("beta1", a.beta1, 0.0, 0.999999);
        a.beta2 = o.number("beta2", a.beta2, 1e-6, 0.999999);
        a.clipping_scale = o.number("clipping_scale", a.clipping_scale, 0.0, 1e6);
        a.clipping_update_period = o.integer("clipping_update_period", a.clipping_update_period, 1, INT64_MAX);
        a.scalar_lr_scale = o.number("scalar_lr_scale", a.scalar_lr_scale, 0.0, 100.0);
        a.eps = o.number("eps", a.eps, 1e-30, 1.0);
        a.param_min_rms = o.number("param_min_rms", a.param_min_rms, 1e-30, 1e6);
        a.param_max_rms = o.number("param_max_rms", a.param_max_rms, 1e-30, 1e6);
        a.scalar_max = o.number("scalar_max", a.scalar_max, 1e-30, 1e6);
        a.size_update_period = o.integer("size_update_period", a.size_update_period, 1, 1 << 20);
        o.reject_unknown();
    }
    if (const toml::table* t = top.table("fixes")) {
        TableReader o(path, *t, "fixes");
        c.fix_text_padding_mask = o.boolean("text_padding_mask", c.fix_text_padding_mask);
        c.fix_lr_schedule = o.boolean("lr_schedule", c.fix_lr_schedule);
        o.reject_unknown();
    }
    top.reject_unknown();
    return c;
}

}  // namespace

int train_s1(const std::vector<std::string>& args, const CommandContext& ctx) {
    namespace po = boost::program_options;
    po::options_description options("troupe train s1 options");
    std::string config;
    TrainOverrides overrides;
    options.add_options()("config,c", po::value(&config)->required(), "recipe TOML (docs/voice-training.md)");
    overrides.add_to(options);
    po::variables_map vm;
    if (!kit::parse_options("troupe train s1 --config recipe.toml [--output DIR] [--max-steps N]", options, args, vm)) return 0;
    tr::S1TrainConfig c = read_s1_recipe(config);
    overrides.apply(c);

    const bool bar = !ctx.quiet && !ctx.json && kit::stderr_is_tty();
    bool bar_drawn = false;
    tr::S1TrainHooks hooks;
    hooks.log = [&](const std::string& line) {
        if (ctx.quiet) return;
        fmt::print(stderr, "{}{}\n", bar_drawn ? "\r\033[K" : "", line);
        bar_drawn = false;
    };
    hooks.progress = [&](const tr::S1Progress& p) {
        if (!bar) return;
        const double frac = p.total > 0 ? double(p.done) / double(p.total) : 0;
        const int width = 24, fill = int(frac * width + 0.5);
        fmt::print(stderr, "\r\033[K[{}{}] {:3.0f}% epoch {}/{} batch {}/{} | loss {:.3f} | acc {:.3f} | lr {:.1e} | {} < {}",
                   std::string(size_t(fill), '#'), std::string(size_t(width - fill), '-'), 100 * frac, p.epoch, p.epochs,
                   p.batch, p.batches, p.loss, p.accuracy, p.lr, clock(p.elapsed_s), clock(p.eta_s));
        std::fflush(stderr);
        bar_drawn = true;
    };
    hooks.should_stop = [&] { return ctx.cancelled(); };
    const tr::S1TrainResult r = tr::train_s1(c, hooks);
    if (bar_drawn) fmt::print(stderr, "\n");
    if (ctx.json) {
        nlohmann::json epochs = nlohmann::json::array();
        for (const auto& e : r.epochs)
            epochs.push_back({{"epoch", e.epoch}, {"steps", e.steps}, {"loss", e.loss}, {"top_3_acc", e.accuracy}, {"lr", e.lr},
                              {"seconds", e.seconds}});
        kit::print_json(nlohmann::json{{"exported", r.exported}, {"state", r.state_path}, {"steps", r.steps},
                                  {"micro_batches", r.micro_batches}, {"epochs_done", r.epoch}, {"interrupted", r.interrupted},
                                  {"resumed", r.resumed}, {"utterances", r.unique_items}, {"items", r.items},
                                  {"batch_size", r.batch_size}, {"epochs", epochs}}
                       .dump(2));
    } else {
        fmt::print("{} after {} optimizer steps ({} micro-batches); {}\n", r.interrupted ? "stopped (resumable)" : "trained",
                   r.steps, r.micro_batches,
                   r.exported.empty() ? "state: " + r.state_path : "weights: " + r.exported.back());
    }
    return r.interrupted ? 130 : 0;
}

}  // namespace troupe::sovits::cli
