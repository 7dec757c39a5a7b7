// trainer.hpp — supervised training of the Llama model code: LoRA SFT on persona JSONL (prompt
// masked, EOS learned) over a frozen (optionally NF4) base, and full-parameter training of a small
// base model from scratch on text. AdamW, warmup then cosine/linear decay, gradient accumulation and
// clipping, checkpoints that resume to the same losses, a JSONL log and a report with loss curves.
#pragma once

#include <troupe/prompt.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::llama {

struct TrainRecipe {
    enum class Mode { lora, base } mode = Mode::lora;
    std::string recipe_path;  // for error messages and relative paths

    // model
    std::string base_model;           // lora: the HF folder of the frozen base
    std::string device = "cpu", dtype = "float32", quantize = "none";
    // base: architecture of the new model
    int64_t hidden_size = 256, intermediate_size = 688, num_layers = 4, num_heads = 4, num_kv_heads = 2;
    int64_t max_position_embeddings = 512;
    double rope_theta = 10000.0;
    // base: tokenizer
    std::string tokenizer;            // an existing tokenizer.json, or empty to train one
    int64_t vocab_size = 4000;

    // data
    std::vector<std::string> train_files, valid_files;  // .jsonl (persona) or .txt (one text per line)
    std::string character;            // lora: keep only this character's examples (empty = all)
    // The format characters are prompted with (troupe/prompt.hpp): {persona} (or {instruction}) is the
    // example's "instruction", {input} its "input".
    std::string prompt_template = prompt::kTemplate;
    int64_t max_length = 256;         // tokens per example / block
    int64_t max_examples = 0;         // 0 = all (for quick runs)

    // lora
    int64_t lora_r = 16;
    double lora_alpha = 32;
    bool use_rslora = false;
    std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};

    // optimisation
    int64_t epochs = 3, batch_size = 4, grad_accum = 1, max_steps = 0;  // max_steps 0 = epochs decide
    double learning_rate = 2e-4, weight_decay = 0.0, warmup_ratio = 0.03, max_grad_norm = 1.0;
    double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
    std::string schedule = "cosine";  // cosine | linear | constant
    uint64_t seed = 42;
    int64_t log_every = 10, eval_every = 0, save_every = 0;  // 0 = only at the end

    std::string save_dtype = "float32";  // base: storage dtype of the saved model (float16 halves it)
    std::string output_dir;
    std::string resume_from;          // a checkpoint-N folder
};

/// Reads a recipe TOML (see docs/training.md); throws Error with file:line:col.
TrainRecipe load_recipe(const std::string& path);

struct TrainLogEntry {
    int64_t step = 0;
    double epoch = 0, loss = 0, learning_rate = 0, grad_norm = 0;
    double valid_loss = -1;  // < 0 when not evaluated at this step
};

struct TrainSummary {
    int64_t steps = 0, total_steps = 0, train_tokens = 0;
    double final_train_loss = 0, final_valid_loss = -1, tokens_per_second = 0, seconds = 0;
    double peak_rss_mb = 0;
    bool interrupted = false;
    std::string output_dir, last_checkpoint;
    std::vector<TrainLogEntry> log;
};

/// Runs the recipe. `log` receives each log line; `should_stop` is polled between steps (Ctrl-C):
/// when it returns true a checkpoint is saved and training returns with `interrupted` set.
TrainSummary train(const TrainRecipe& recipe, const std::function<void(const std::string&)>& log,
                   const std::function<bool()>& should_stop);

}  // namespace troupe::llama
