// train/s1_trainer.hpp — GPT-SoVITS v2 S1 fine-tuning as upstream's s1_train.py runs it (WebUI
// defaults), resumable at any micro-batch:
//
//   data       <data_dir>/2-name2text.txt + 6-name2semantic.tsv (s1_dataset.hpp), bucketed batches
//              (bucket_sampler.hpp; batch size max(min(batch_size, items / 4), 1) as upstream)
//   model      the pretrained S1 .ckpt (architecture from its config and weight shapes), float32,
//              every parameter trained, dropout 0.1 in the layers as upstream hard-codes
//   step       s1_step.hpp: summed cross-entropy, top-3 accuracy, ScaledAdam every 4 micro-batches,
//              upstream's locked LR schedule
//   seed       at::manual_seed(seed) once (upstream seed_everything); the bucket order uses Python's
//              random seeded with the epoch, exactly as upstream
//   output     <output_dir>/<exp_name>-e<epoch>.ckpt every save_every_epochs epochs and at the end
//              (upstream's export, s1_export.hpp); <output_dir>/state.safetensors: float32 weights,
//              accumulated gradients, optimizer, schedule, position and RNG, rewritten atomically
//              at every export, on stop/cancel and at the end; <output_dir>/train-log.jsonl.
//
// A run whose output_dir holds a state continues from it (resume) and reproduces the uninterrupted
// run bit for bit on the same device and build.
#pragma once

#include "train/lr_schedule.hpp"
#include "train/scaled_adam.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::sovits::train {

struct S1TrainConfig {
    // data and model
    std::string data_dir;        // the `troupe tts prepare` folder
    std::string phoneme_path;    // default <data_dir>/2-name2text.txt
    std::string semantic_path;   // default <data_dir>/6-name2semantic.tsv
    std::string pretrained;      // upstream S1 .ckpt to start from (required)
    std::string device = "cpu";
    bool tf32 = true;            // CUDA: TF32 matmuls, as upstream's set_float32_matmul_precision("high")
    // output
    std::string output_dir;      // required
    std::string exp_name = "s1";
    // upstream train.* (WebUI defaults)
    int64_t epochs = 15;
    int64_t batch_size = 8;
    int64_t save_every_epochs = 5;
    uint64_t seed = 1234;
    int64_t max_steps = 0;       // stop after this many optimizer steps (0: the epochs decide)
    int64_t accumulate = 4;      // upstream steps after micro-batch i when i > 0 and i % 4 == 0
    double dropout = 0.1;        // the layers' dropout (upstream hard-codes 0.1; 0 = deterministic)
    bool resume = true;          // continue from <output_dir>/state.safetensors when present
    // optimizer and schedule (upstream's values; the schedule is locked unless fix_lr_schedule)
    ScaledAdamOptions optimizer;
    LrScheduleConfig schedule;
    // opt-in corrections of upstream bugs (off = upstream's behaviour)
    bool fix_text_padding_mask = false;  // block the right-padded text columns, not the first ones
    bool fix_lr_schedule = false;        // follow optimizer.lr_init/lr/lr_end/warmup/decay

    /// Throws Error(invalid_argument) naming the setting for absurd values.
    void validate() const;
};

struct S1Progress {
    int64_t epoch = 0, epochs = 0;        // 1-based epoch
    int64_t batch = 0, batches = 0;       // micro-batch within the epoch (1-based) / per epoch
    int64_t done = 0, total = 0;          // micro-batches over the run
    int64_t steps = 0;                    // optimizer steps so far
    double loss = 0, accuracy = 0, lr = 0;
    double elapsed_s = 0, eta_s = 0;
};

struct S1EpochLog {
    int64_t epoch = 0, steps = 0;
    double loss = 0, accuracy = 0, lr = 0, seconds = 0;  // means over the epoch's micro-batches
};

struct S1TrainResult {
    int64_t steps = 0, micro_batches = 0;  // totals, including those before a resume
    int64_t epoch = 0;                     // epochs completed
    bool interrupted = false, resumed = false;
    std::vector<std::string> exported;     // .ckpt files written by this call
    std::string state_path;
    std::vector<double> losses;            // per micro-batch run by this call
    std::vector<S1EpochLog> epochs;        // epochs finished by this call
    size_t items = 0, unique_items = 0;
    int64_t batch_size = 0;
};

struct S1TrainHooks {
    std::function<void(const std::string&)> log;          // one line each (setup, per epoch)
    std::function<void(const S1Progress&)> progress;      // after every micro-batch
    std::function<bool()> should_stop;                    // polled before every micro-batch (Ctrl-C)
};

/// Runs (or continues) the fine-tuning. Throws troupe::Error naming the file for bad inputs.
S1TrainResult train_s1(const S1TrainConfig& config, const S1TrainHooks& hooks = {});

/// The state file of an output folder.
std::string s1_state_path(const std::string& output_dir);

}  // namespace troupe::sovits::train
