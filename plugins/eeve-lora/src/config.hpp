// config.hpp — a Hugging Face Llama-architecture model folder's config.json + generation_config.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace troupe::llama {

/// bitsandbytes quantization_config of a pre-quantized checkpoint (config.json).
struct QuantizationConfig {
    std::string method;             // "bitsandbytes"
    bool load_in_4bit = false;
    std::string quant_type;         // "nf4" | "fp4"
    bool double_quant = false;
    std::string compute_dtype;      // "bfloat16", "float32", ...
    std::vector<std::string> skip_modules;
};

/// What the model code needs from config.json (and generation_config.json for stop ids).
struct LlamaConfig {
    std::string dir;                // the model folder
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_layers = 0;
    int64_t num_heads = 0;
    int64_t num_kv_heads = 0;
    int64_t head_dim = 0;           // `head_dim` or hidden_size / num_heads
    double rms_norm_eps = 1e-6;
    double rope_theta = 10000.0;    // top-level `rope_theta` or `rope_parameters.rope_theta`
    int64_t max_position_embeddings = 2048;
    bool tie_word_embeddings = false;
    bool attention_bias = false;
    bool mlp_bias = false;
    std::string torch_dtype;        // "float32", "bfloat16", "float16" or empty
    int64_t bos_token_id = -1;
    int64_t pad_token_id = -1;
    /// Union of every EOS id of config.json and generation_config.json (int or list), in order.
    std::vector<int64_t> eos_token_ids;
    std::optional<QuantizationConfig> quantization;

    int64_t q_dim() const { return num_heads * head_dim; }
    int64_t kv_dim() const { return num_kv_heads * head_dim; }
    bool is_eos(int64_t id) const;
};

/// Reads `dir`/config.json (required) and `dir`/generation_config.json (optional). Throws
/// troupe::Error naming the file for missing keys, wrong types, or unsupported settings
/// (non-Llama model_type, rope_scaling, activations other than SiLU).
LlamaConfig load_config(const std::string& dir);

/// Parses config.json text (generation_config.json text may be empty). `path` is used in errors.
LlamaConfig parse_config(const std::string& config_text, const std::string& generation_text,
                         const std::string& path);

/// Reads a whole file; throws Error(not_found / invalid_file) naming it.
std::string read_text_file(const std::string& path);

}  // namespace troupe::llama
