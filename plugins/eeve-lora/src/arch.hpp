// arch.hpp — the weight-name table of the Hugging Face Llama architecture (LlamaForCausalLM).
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace troupe::llama::arch {

/// The seven linear projections of a decoder layer, in a fixed order (index = layer * 7 + proj).
enum class Proj : int { q = 0, k, v, o, gate, up, down };
inline constexpr int kProjCount = 7;

/// Module path of a projection inside a layer ("self_attn.q_proj"); PEFT target_modules use the
/// last component ("q_proj").
inline const char* proj_path(Proj p) {
    static constexpr std::array<const char*, kProjCount> paths = {
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
        "mlp.gate_proj",    "mlp.up_proj",      "mlp.down_proj"};
    return paths[static_cast<int>(p)];
}
inline const char* proj_short(Proj p) {
    static constexpr std::array<const char*, kProjCount> names = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                                   "gate_proj", "up_proj", "down_proj"};
    return names[static_cast<int>(p)];
}

inline std::string layer_prefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }
/// "model.layers.3.self_attn.q_proj" — the module path PEFT adapters and bnb sidecars key on.
inline std::string linear_module(int64_t layer, Proj p) { return layer_prefix(layer) + proj_path(p); }
inline std::string input_norm(int64_t layer) { return layer_prefix(layer) + "input_layernorm.weight"; }
inline std::string post_attention_norm(int64_t layer) {
    return layer_prefix(layer) + "post_attention_layernorm.weight";
}
inline const char* kEmbed = "model.embed_tokens.weight";
inline const char* kFinalNorm = "model.norm.weight";
inline const char* kLmHead = "lm_head.weight";
inline const char* kLmHeadModule = "lm_head";

/// PEFT prefix of adapter tensor names: "base_model.model." + module path + ".lora_A.weight".
inline const char* kPeftPrefix = "base_model.model.";

}  // namespace troupe::llama::arch
