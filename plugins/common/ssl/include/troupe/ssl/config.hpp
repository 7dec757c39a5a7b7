// troupe/ssl/config.hpp — configuration of a Hugging Face Wav2Vec2Model / HubertModel / WavLMModel folder.
//
// Parsed from `config.json` and `preprocessor_config.json` with the transformers defaults for keys
// an older config omits. No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::ssl {

/// The encoder part of `config.json` (model_type "wav2vec2", "hubert" or "wavlm").
struct EncoderConfig {
    std::string model_type = "wav2vec2";
    // Conv feature encoder.
    std::vector<int64_t> conv_dim, conv_kernel, conv_stride;
    bool conv_bias = false;
    std::string feat_extract_norm = "group";     // "group": GroupNorm on conv 0 only; "layer": LayerNorm on every conv
    std::string feat_extract_activation = "gelu";
    // Feature projection.
    bool feat_proj_layer_norm = true;            // HuBERT switch; Wav2Vec2 always normalises
    // Transformer encoder.
    int64_t hidden_size = 768;
    int64_t num_hidden_layers = 12;
    int64_t num_attention_heads = 12;
    int64_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    double layer_norm_eps = 1e-5;
    int64_t num_conv_pos_embeddings = 128;
    int64_t num_conv_pos_embedding_groups = 16;
    bool conv_pos_batch_norm = false;            // HuBERT only: BatchNorm1d before the positional conv
    bool do_stable_layer_norm = false;           // true: pre-LN layers + final LayerNorm
    // WavLM only: gated relative position bias (T5-style log buckets, shared by all layers from layer 0).
    int64_t num_buckets = 320;
    int64_t max_bucket_distance = 800;
    // Heads (used by the CTC model, not by the encoder).
    int64_t vocab_size = 0;
    int64_t pad_token_id = 0;

    /// Reads `path` (a config.json); throws Error(invalid_file) naming the file and key.
    static EncoderConfig read(const std::string& path);
    /// Checks internal consistency (list lengths, head divisibility); throws Error naming `origin`.
    void validate(const std::string& origin) const;
    /// Number of output frames for `samples` input samples (each conv: floor((T - k) / s) + 1; 0 if too short).
    int64_t num_frames(int64_t samples) const;
    /// Fewest input samples that give one frame.
    int64_t min_samples() const;
};

/// `preprocessor_config.json` of a Wav2Vec2FeatureExtractor.
struct FeatureExtractorConfig {
    bool do_normalize = true;
    int sampling_rate = 16000;
    double padding_value = 0.0;

    /// Reads `path`; a missing file is not an error for `read_optional` (defaults are returned).
    static FeatureExtractorConfig read(const std::string& path);
    static FeatureExtractorConfig read_optional(const std::string& path);
};

}  // namespace troupe::ssl
