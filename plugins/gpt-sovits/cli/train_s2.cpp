// troupe train s2 --config R.toml: GPT-SoVITS v2 S2 (SoVITS) fine-tuning (plugins/gpt-sovits/src/train,
// docs/voice-training.md). Reads the recipe, draws a progress bar with the losses and ETA, prints the
// per-epoch log line, stops resumably on Ctrl-C.
#include "train_recipe.hpp"
#include "tts_commands.hpp"

#include "train/s2_trainer.hpp"

#include <troupe/kit/toml.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace troupe::sovits::cli {
namespace {

namespace tr = sovits::train;

/// Reads a recipe (docs/voice-training.md); every error names file:line:column.
tr::S2TrainConfig read_s2_recipe(const std::string& path) {
    toml::table table = kit::parse_toml_file(path);
    kit::TableReader top(path, table);
    tr::S2TrainConfig c;
    {
        kit::TableReader d(path, required_table(top, "data", "is required ([data] dir = \"<troupe tts prepare output>\")"), "data");
        c.data_dir = d.string("dir", true);
        d.reject_unknown();
    }
    {
        kit::TableReader m(path, required_table(top, "model", "is required ([model] pretrained_s2G = \"<S2 .pth>\")"), "model");
        c.pretrained_g = m.string("pretrained_s2G", true);
        c.pretrained_d = m.string("pretrained_s2D");
        c.device = m.string("device", false, c.device);
        m.reject_unknown();
    }
    read_output_table(path, top, c);
    if (const toml::table* t = top.table("train")) {
        kit::TableReader o(path, *t, "train");
        auto& s = c.step;
        read_common_train_keys(o, c);
        c.dropout = o.number("dropout", c.dropout, -1.0, 0.99);
        s.learning_rate = o.number("learning_rate", s.learning_rate, 1e-12, 1.0);
        s.text_low_lr_rate = o.number("text_low_lr_rate", s.text_low_lr_rate, 1e-6, 10.0);
        s.lr_decay = o.number("lr_decay", s.lr_decay, 1e-6, 1.0);
        s.adamw.beta1 = o.number("beta1", s.adamw.beta1, 0.0, 0.999999);
        s.adamw.beta2 = o.number("beta2", s.adamw.beta2, 1e-6, 0.999999);
        s.adamw.eps = o.number("eps", s.adamw.eps, 1e-30, 1.0);
        s.adamw.weight_decay = o.number("weight_decay", s.adamw.weight_decay, 0.0, 10.0);
        s.c_mel = o.number("c_mel", s.c_mel, 0.0, 1e6);
        s.c_kl = o.number("c_kl", s.c_kl, 0.0, 1e6);
        s.segment_size = o.integer("segment_size", s.segment_size, 1, INT64_MAX);
        o.reject_unknown();
    }
    if (const toml::table* t = top.table("fixes")) {
        kit::TableReader o(path, *t, "fixes");
        c.step.fix_lr_decay_offset = o.boolean("lr_decay_offset", c.step.fix_lr_decay_offset);
        o.reject_unknown();
    }
    top.reject_unknown();
    return c;
}

}  // namespace

int train_s2(const std::vector<std::string>& args, const CommandContext& ctx) {
    namespace po = boost::program_options;
    po::options_description options("troupe train s2 options");
    std::string config;
    TrainOverrides overrides;
    options.add_options()("config", po::value(&config)->required(), "the recipe (TOML: [data], [model], [output], [train], [fixes])");
    overrides.add_to(options);
    po::variables_map vm;
    if (!kit::parse_options("troupe train s2 --config R.toml [--output DIR] [--device D] [--max-steps N] [--no-resume] [--json]",
                            options, args, vm))
        return 0;
    tr::S2TrainConfig c = read_s2_recipe(config);
    overrides.apply(c);

    const bool bar = !ctx.quiet && !ctx.json && kit::stderr_is_tty();
    tr::S2TrainHooks hooks;
    hooks.log = [&](const std::string& line) {
        if (ctx.quiet || ctx.json) return;
        if (bar) std::fputs("\r\033[K", stderr);
        std::fprintf(stderr, "%s\n", line.c_str());
    };
    hooks.progress = [&](const tr::S2Progress& p) {
        if (!bar) return;
        const double frac = p.total > 0 ? double(p.steps) / double(p.total) : 0;
        const int width = 24, filled = int(frac * width);
        std::fprintf(stderr, "\r\033[K[%s%s] %3d%% epoch %lld/%lld batch %lld/%lld | loss_g %.3f | loss_d %.3f | mel %.3f | lr %.2e | %s < %s",
                     std::string(size_t(filled), '#').c_str(), std::string(size_t(width - filled), '-').c_str(), int(frac * 100),
                     (long long)p.epoch, (long long)p.epochs, (long long)p.batch, (long long)p.batches, p.loss_g, p.loss_d,
                     p.loss_mel, p.lr, clock(p.elapsed_s).c_str(), clock(p.eta_s).c_str());
        std::fflush(stderr);
    };
    hooks.should_stop = [&] { return ctx.cancelled(); };
    const tr::S2TrainResult r = tr::train_s2(c, hooks);
    if (bar) std::fputs("\r\033[K", stderr);
    if (ctx.json) {
        nlohmann::json j = {{"steps", r.steps},         {"epoch", r.epoch},       {"interrupted", r.interrupted},
                            {"resumed", r.resumed},     {"exported", r.exported}, {"state", r.state_path},
                            {"items", r.items},         {"unique_items", r.unique_items}};
        if (!r.losses_g.empty()) j["last_loss_g"] = r.losses_g.back();
        if (!r.losses_d.empty()) j["last_loss_d"] = r.losses_d.back();
        kit::print_json(j.dump());
    }
    return r.interrupted ? 130 : 0;
}

}  // namespace troupe::sovits::cli
