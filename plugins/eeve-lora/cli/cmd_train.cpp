// troupe train lora|base --config recipe.toml [--resume DIR]: LoRA SFT and base-model training, served
// by the eeve-lora plugin.
#include "lm_commands.hpp"

#include "trainer.hpp"

#include <troupe/kit/toml.hpp>

#include <boost/filesystem.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::llama::cli {
namespace po = boost::program_options;
using kit::parse_options;
using kit::print_json;

namespace {

/// Reads a recipe; relative paths resolve against the directory the command runs in.
llama::TrainRecipe read_recipe(const std::string& path, llama::TrainRecipe::Mode mode) {
    toml::table table = kit::parse_toml_file(path);
    kit::TableReader top(path, table);
    llama::TrainRecipe r;
    r.mode = mode;
    r.recipe_path = path;
    const bool lora = mode == llama::TrainRecipe::Mode::lora;
    if (const toml::table* t = top.table("model")) {
        kit::TableReader m(path, *t, "model");
        r.base_model = m.string("base", lora);
        r.device = m.string("device", false, r.device);
        r.dtype = m.string("dtype", false, r.dtype);
        r.quantize = m.string("quantize", false, r.quantize);
        r.hidden_size = m.integer("hidden_size", r.hidden_size, 8, 65536);
        r.intermediate_size = m.integer("intermediate_size", r.intermediate_size, 8, 262144);
        r.num_layers = m.integer("num_layers", r.num_layers, 1, 256);
        r.num_heads = m.integer("num_heads", r.num_heads, 1, 256);
        r.num_kv_heads = m.integer("num_kv_heads", r.num_kv_heads, 1, 256);
        r.max_position_embeddings = m.integer("max_position_embeddings", r.max_position_embeddings, 16, 1 << 20);
        r.rope_theta = m.number("rope_theta", r.rope_theta, 1.0, 1e9);
        if (r.hidden_size % r.num_heads || r.num_heads % r.num_kv_heads)
            m.fail_key("num_heads", "must divide hidden_size and be a multiple of num_kv_heads");
        m.reject_unknown();
    } else if (lora) {
        top.fail_key("model", "is required ([model] base = \"…\")");
    }
    if (const toml::table* t = top.table("tokenizer")) {
        kit::TableReader k(path, *t, "tokenizer");
        r.tokenizer = k.string("file");
        r.vocab_size = k.integer("vocab_size", r.vocab_size, 260, 1 << 20);
        k.reject_unknown();
    }
    const toml::table* data = top.table("data");
    if (!data) top.fail_key("data", "is required ([data] train = [\"…\"])");
    {
        kit::TableReader d(path, *data, "data");
        r.train_files = d.strings("train");
        r.valid_files = d.strings("valid");
        if (r.train_files.empty()) d.fail_key("train", "must list at least one file");
        r.character = d.string("character");
        r.prompt_template = d.string("prompt_template", false, r.prompt_template);
        r.max_length = d.integer("max_length", r.max_length, 8, 1 << 16);
        r.max_examples = d.integer("max_examples", 0, 0, INT64_MAX);
        d.reject_unknown();
    }
    if (const toml::table* t = top.table("lora")) {
        kit::TableReader l(path, *t, "lora");
        r.lora_r = l.integer("r", r.lora_r, 1, 4096);
        r.lora_alpha = l.number("alpha", r.lora_alpha, 0.0, 1e6);
        r.use_rslora = l.boolean("use_rslora", r.use_rslora);
        if (l.has("target_modules")) r.target_modules = l.strings("target_modules");
        l.reject_unknown();
    }
    if (const toml::table* t = top.table("train")) {
        kit::TableReader o(path, *t, "train");
        r.epochs = o.integer("epochs", r.epochs, 1, 10000);
        r.batch_size = o.integer("batch_size", r.batch_size, 1, 65536);
        r.grad_accum = o.integer("grad_accum", r.grad_accum, 1, 65536);
        r.max_steps = o.integer("max_steps", r.max_steps, 0, INT64_MAX);
        r.learning_rate = o.number("learning_rate", r.learning_rate, 0.0, 10.0);
        r.weight_decay = o.number("weight_decay", r.weight_decay, 0.0, 10.0);
        r.warmup_ratio = o.number("warmup_ratio", r.warmup_ratio, 0.0, 1.0);
        r.max_grad_norm = o.number("max_grad_norm", r.max_grad_norm, 0.0, 1e6);
        r.schedule = o.string("schedule", false, r.schedule);
        if (r.schedule != "cosine" && r.schedule != "linear" && r.schedule != "constant")
            o.fail_key("schedule", "must be cosine, linear or constant");
        r.seed = uint64_t(o.integer("seed", int64_t(r.seed), 0, INT64_MAX));
        r.log_every = o.integer("log_every", r.log_every, 1, INT64_MAX);
        r.eval_every = o.integer("eval_every", r.eval_every, 0, INT64_MAX);
        r.save_every = o.integer("save_every", r.save_every, 0, INT64_MAX);
        o.reject_unknown();
    }
    const toml::table* output = top.table("output");
    if (!output) top.fail_key("output", "is required ([output] dir = \"…\")");
    {
        kit::TableReader o(path, *output, "output");
        r.output_dir = o.string("dir", true);
        r.save_dtype = o.string("dtype", false, r.save_dtype);
        o.reject_unknown();
    }
    top.reject_unknown();
    return r;
}

}  // namespace

int train(const std::vector<std::string>& args, const CommandContext& ctx) {
    const std::string mode = ctx.command() == "train base" ? "base" : "lora";
    po::options_description options("troupe " + ctx.command() + " options");
    std::string config, resume, output;
    int64_t max_steps = 0;
    options.add_options()(
        "config,c", po::value(&config)->required(), "recipe TOML (see docs/training.md)")(
        "resume", po::value(&resume), "continue from a checkpoint-N folder")(
        "output", po::value(&output), "override [output] dir")("max-steps", po::value(&max_steps),
                                                               "override [train] max_steps");
    po::variables_map vm;
    if (!parse_options("troupe " + ctx.command() + " --config recipe.toml [--resume DIR]", options, args, vm)) return 0;
    llama::TrainRecipe recipe =
        read_recipe(config, mode == "lora" ? llama::TrainRecipe::Mode::lora : llama::TrainRecipe::Mode::base);
    if (!resume.empty()) recipe.resume_from = resume;
    if (!output.empty()) recipe.output_dir = output;
    if (max_steps > 0) recipe.max_steps = max_steps;

    llama::TrainSummary s = llama::train(
        recipe, [&](const std::string& line) { if (!ctx.quiet) fmt::print(stderr, "{}\n", line); },
        [&] { return ctx.cancelled(); });
    if (ctx.json)
        print_json(nlohmann::json{{"output", s.output_dir}, {"steps", s.steps}, {"total_steps", s.total_steps},
                                  {"final_train_loss", s.final_train_loss}, {"final_valid_loss", s.final_valid_loss},
                                  {"tokens_per_second", s.tokens_per_second}, {"peak_rss_mb", s.peak_rss_mb},
                                  {"interrupted", s.interrupted}, {"checkpoint", s.last_checkpoint}}
                       .dump(2));
    else
        fmt::print("{} {} steps → {} (train loss {:.4f}, valid {:.4f}, {:.0f} tokens/s, peak {:.0f} MiB)\n",
                   s.interrupted ? "stopped after" : "trained", s.steps, s.interrupted ? s.last_checkpoint : s.output_dir,
                   s.final_train_loss, s.final_valid_loss, s.tokens_per_second, s.peak_rss_mb);
    return s.interrupted ? 130 : 0;
}

}  // namespace troupe::llama::cli
