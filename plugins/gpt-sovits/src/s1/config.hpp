// s1/config.hpp — hyperparameters of the S1 GPT (Text2SemanticDecoder), from the `config` dict a
// GPT-SoVITS `.ckpt` stores (upstream s1longer-v2.yaml layout) and checked against the weights.
#pragma once

#include <ATen/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace troupe::sovits::s1 {

/// Tensors by upstream key name without the Lightning `model.` prefix.
using StateDict = std::map<std::string, at::Tensor>;

struct S1Config {
    int64_t vocab_size = 1025;           // semantic codes + EOS
    int64_t phoneme_vocab_size = 732;    // v2 symbol table
    int64_t embedding_dim = 512;
    int64_t hidden_dim = 512;
    int64_t n_head = 16;
    int64_t n_layer = 24;
    int64_t eos = 1024;
    int64_t bert_dim = 1024;             // bert_proj input (hard-coded upstream)
    double embedding_dropout = 0.0;      // model.dropout (TokenEmbedding)
    double layer_dropout = 0.1;          // hard-coded upstream (layers, positional encodings)
    double layer_norm_eps = 1e-5;
    int64_t max_sec = 54;                // data.max_sec: early_stop_num = 50 * max_sec
    int64_t top_k = 15;                  // inference.top_k (a default only)

    int64_t ffn_dim() const { return 4 * hidden_dim; }  // upstream ignores linear_units
    int64_t head_dim() const { return hidden_dim / n_head; }
    int64_t early_stop_num() const { return 50 * max_sec; }

    /// Reads the stored config (`{"model": {...}, "data": {...}, "inference": {...}}`); missing
    /// fields keep the v2 defaults. Throws Error(invalid_file) naming `source` on wrong types.
    static S1Config from_json(const nlohmann::json& config, const std::string& source);
    /// Checks the config against the weight shapes (layer count, widths, vocabularies) and fills
    /// what only the weights tell; throws Error(invalid_file) naming `source` when inconsistent.
    void resolve_from_weights(const StateDict& state, const std::string& source);
};

}  // namespace troupe::sovits::s1
