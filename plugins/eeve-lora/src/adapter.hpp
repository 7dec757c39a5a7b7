// adapter.hpp — PEFT LoRA adapters (adapter_config.json + adapter_model.safetensors) over a Model.
// Applied unmerged (Model::forward with ForwardOptions::adapter) or folded in with Model::merged.
#pragma once

#include "model.hpp"

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::llama {

/// The adapter_config.json fields that change inference.
struct AdapterConfig {
    int64_t r = 0;
    double lora_alpha = 0;
    bool use_rslora = false;
    std::vector<std::string> target_modules;  // suffixes like "q_proj"; empty when target_regex is used
    std::string target_regex;                 // target_modules given as a string (regex or "all-linear")
    std::string base_model;                   // base_model_name_or_path (informative)
    /// lora_alpha / r, or lora_alpha / sqrt(r) with rsLoRA.
    double scaling() const;
};

/// Parses adapter_config.json text. Refuses (Error unsupported, naming `path`) what this backend
/// cannot reproduce: non-LoRA peft_type, DoRA, modules_to_save, non-empty rank_pattern/alpha_pattern,
/// fan_in_fan_out, bias other than "none", layer_replication. Malformed JSON → Error invalid_file.
AdapterConfig parse_adapter_config(const std::string& text, const std::string& path);

class Adapter {
public:
    /// Loads a PEFT adapter folder for `model`: checks every tensor name maps to one of the
    /// model's linear layers and every shape against r and the layer; moves A/B (float32) to the
    /// model's device. A folder with only adapter_model.bin is refused (pickles are not read).
    static Adapter load(const std::string& dir, const Model& model);

    /// A fresh trainable adapter as PEFT initialises it (A kaiming-uniform with a=√5, B zeros).
    static Adapter create(const Model& model, const AdapterConfig& config, uint64_t seed);

    /// Writes adapter_config.json and adapter_model.safetensors (PEFT layout) into `dir`.
    void save(const std::string& dir) const;

    const std::string& dir() const { return dir_; }
    const AdapterConfig& config() const { return config_; }
    /// The LoRA pair of linear layer `index` (see Model::linear_index), or null.
    const LoraWeights* for_linear(int64_t index) const;
    /// All A and B tensors (for an optimizer); set_requires_grad toggles them.
    std::vector<at::Tensor> parameters() const;
    void set_requires_grad(bool on);
    /// Number of adapted linear layers.
    int64_t adapted_count() const;

private:
    std::string dir_;
    AdapterConfig config_;
    std::vector<LoraWeights> by_linear_;
    std::vector<std::string> modules_;  // module path per linear index (for save)
};

}  // namespace troupe::llama
