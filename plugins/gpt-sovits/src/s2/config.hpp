// s2/config.hpp — the SoVITS (S2) hyperparameters: the stored `config` (hps: data/model) plus the
// sizes read from the weight shapes (which win where both exist).
#pragma once

#include "s2/layers.hpp"

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace troupe::sovits::s2 {

struct S2Config {
    // data
    int64_t sampling_rate = 32000, filter_length = 2048, hop_length = 640, win_length = 2048;
    // model
    int64_t inter_channels = 192, hidden_channels = 192, filter_channels = 768, n_heads = 2, n_layers = 6,
            kernel_size = 3;
    double p_dropout = 0.1;
    std::string resblock = "1";
    std::vector<int64_t> resblock_kernel_sizes{3, 7, 11};
    std::vector<std::vector<int64_t>> resblock_dilation_sizes{{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
    std::vector<int64_t> upsample_rates{10, 8, 2, 2, 2};
    int64_t upsample_initial_channel = 512;
    std::vector<int64_t> upsample_kernel_sizes{16, 16, 8, 2, 2};
    int64_t gin_channels = 512;
    std::string semantic_frame_rate = "25hz";
    std::string version = "v2";
    // fixed by upstream code; read from weights
    int64_t ssl_dim = 768, codebook_size = 1024, n_codebooks = 1, vocab = 732;
    int64_t mrte_hidden = 512, mrte_heads = 4, window_size = 4;
    int64_t style_in = 704, style_hidden = 128, style_heads = 2, style_kernel = 5;
    int64_t flow_layers = 4, flow_kernel = 5, n_flows = 4;
    bool has_posterior = false;
    int64_t posterior_layers = 16, posterior_kernel = 5;  // enc_q's WN (read from the weights when present)
    double style_dropout = 0.1;  // upstream's MelStyleEncoder hard-codes 0.1 (only active in training)

    int64_t spec_channels() const { return filter_length / 2 + 1; }
    int64_t hop() const;  // product of upsample_rates

    /// Reads the hps JSON (`{"data": {...}, "model": {...}}`, upstream s2.json layout). Missing
    /// fields keep the v2 defaults. Throws Error(invalid_file) naming `source` on wrong types.
    static S2Config from_json(const nlohmann::json& hps, const std::string& source);
    /// Overwrites the sizes that the weights determine (channels, layer counts, heads, kernels) and
    /// checks them against the config; throws Error(invalid_file) naming `source` when inconsistent
    /// or when the weights are not a v2 SynthesizerTrn.
    void resolve_from_weights(const StateDict& state, const std::string& source);
};

}  // namespace troupe::sovits::s2
