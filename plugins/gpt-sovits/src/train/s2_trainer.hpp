// train/s2_trainer.hpp — GPT-SoVITS v2 S2 (SoVITS) fine-tuning as upstream's s2_train.py runs it
// (fp32; upstream's WebUI turns fp16 autocast on for GPUs), resumable at any batch:
//
//   data     <data_dir>/2-name2text.txt + 4-cnhubert/*.pt + 5-wav32k/* (s2_dataset.hpp), bucketed
//            batches (upstream's DistributedBucketSampler, one replica)
//   model    generator from the pretrained S2 .pth (enc_q fresh when the file has none), discriminator
//            from the D .pth or fresh; ssl_proj + quantizer frozen (s2_model.hpp)
//   step     s2_step.hpp: D step, then G step against the updated D; AdamW in upstream's groups;
//            ExponentialLR per epoch, stepped once before epoch 1 (upstream's quirk)
//   seed     at::manual_seed(seed) once (torch.manual_seed(hps.train.seed))
//   output   <output_dir>/<exp_name>_e<epoch>_s<step>.pth every save_every_epochs epochs and at the
//            end (process_ckpt.savee's format, s2_export.hpp); <output_dir>/s2-state.safetensors:
//            float32 G and D weights, both optimizers, schedulers, position and RNG, rewritten
//            atomically at every export, on stop and at the end; <output_dir>/s2-train-log.jsonl.
//
// A run whose output_dir holds a state continues from it and reproduces the uninterrupted run on the
// same device and build.
#pragma once

#include "train/s2_step.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::sovits::train {

struct S2TrainConfig {
    std::string data_dir;        // the `troupe tts prepare` folder (required)
    std::string pretrained_g;    // upstream S2 generator .pth (required; pretrained s2G2333k.pth or a fine-tuned export)
    std::string pretrained_d;    // upstream S2 discriminator .pth (optional: fresh otherwise)
    std::string output_dir;      // required
    std::string exp_name = "s2";
    std::string device = "cpu";
    int64_t epochs = 8;          // WebUI default
    int64_t batch_size = 4;      // WebUI: ⌊GPU GB / 2⌋; on the CPU keep it small
    int64_t save_every_epochs = 4;
    uint64_t seed = 1234;
    int64_t max_steps = 0;       // stop after this many steps (0: the epochs decide)
    double dropout = -1;         // < 0: upstream's (config p_dropout; 0.1 in the style encoder)
    bool resume = true;
    S2StepOptions step;          // learning rate, text_low_lr_rate, lr_decay, c_mel, c_kl, AdamW, segment size

    /// Throws Error(invalid_argument) naming the setting for absurd values.
    void validate() const;
};

struct S2Progress {
    int64_t epoch = 0, epochs = 0, batch = 0, batches = 0, steps = 0, total = 0;
    double loss_g = 0, loss_d = 0, loss_mel = 0, lr = 0, elapsed_s = 0, eta_s = 0;
};

struct S2EpochLog {
    int64_t epoch = 0, steps = 0;
    double loss_d = 0, loss_gen = 0, loss_fm = 0, loss_mel = 0, loss_kl = 0, loss_g = 0, lr = 0, seconds = 0;
};

struct S2TrainResult {
    int64_t steps = 0, epoch = 0;
    bool interrupted = false, resumed = false;
    std::vector<std::string> exported;
    std::string state_path;
    std::vector<double> losses_g, losses_d;  // per step run by this call
    std::vector<S2EpochLog> epochs;
    size_t items = 0, unique_items = 0;
};

struct S2TrainHooks {
    std::function<void(const std::string&)> log;
    std::function<void(const S2Progress&)> progress;
    std::function<bool()> should_stop;  // polled before every batch (Ctrl-C)
};

S2TrainResult train_s2(const S2TrainConfig& config, const S2TrainHooks& hooks = {});

/// The state file of an output folder.
std::string s2_state_path(const std::string& output_dir);

/// The hps written into the exported .pth: the pretrained file's config with data/model set from the
/// weights and train/name/save_weight_dir from this run.
nlohmann::json s2_export_hps(const S2Networks& nets, const S2TrainConfig& config);

}  // namespace troupe::sovits::train
