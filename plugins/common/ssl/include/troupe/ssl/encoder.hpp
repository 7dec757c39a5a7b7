// troupe/ssl/encoder.hpp — the self-supervised speech encoder shared by the HuBERT (GPT-SoVITS) path, the
// wav2vec2 CTC transcriber, the WavLM speaker encoder (wavlm-sv) and UTMOS: a LibTorch port of transformers'
// `Wav2Vec2Model` / `HubertModel` / `WavLMModel` forward pass
// in eval mode (no dropout, no SpecAugment, no attention mask: each call is one or more unpadded waveforms).
//
//   waveform ─prepare()─▶ input_values ─forward()─▶ last_hidden_state [B, T, H]
//
// Supported: conv feature encoder with GroupNorm-on-first-layer ("group") or LayerNorm-on-every-layer ("layer");
// feature projection (LayerNorm + Linear); positional conv embedding with weight norm stored either as
// `parametrizations.weight.original0/1` (g, v) or as legacy `weight_g/weight_v`, or already folded as `weight`;
// optional HuBERT `conv_pos_batch_norm`; post-LN ("do_stable_layer_norm": false) and pre-LN (true) encoders;
// WavLM's gated relative position bias (bucketed bias from layer 0's `rel_attn_embed`, gated per layer and head
// by `gru_rel_pos_linear` / `gru_rel_pos_const` of the attention input).
// Weights may be stored under a model prefix ("wav2vec2.", "hubert.", "wavlm.", or none); it is detected.
#pragma once

#include <troupe/ssl/config.hpp>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace troupe::ssl {

/// Where weights come from: a name → tensor lookup over HF state-dict names. `describe` names the source
/// in error messages. Build one from a safetensors checkpoint with `weights_from_dir`, or from any map.
struct WeightSource {
    std::function<bool(const std::string&)> contains;
    std::function<at::Tensor(const std::string&)> get;
    std::string describe;
};

/// The weights of a HF folder: `model.safetensors`, shards with `model.safetensors.index.json`, or else a
/// `pytorch_model.bin` torch.save zip (e.g. chinese-hubert-base), read by the restricted unpickler.
WeightSource weights_from_dir(const std::string& dir);
/// The weights of one safetensors file.
WeightSource weights_from_file(const std::string& path);
/// Weights from an in-memory state dict (e.g. one read from a PyTorch pickle by another loader).
WeightSource weights_from_map(std::shared_ptr<const std::map<std::string, at::Tensor>> tensors, std::string describe);

struct LoadOptions {
    c10::Device device = c10::Device(c10::kCPU);
    c10::ScalarType dtype = c10::kFloat;  // weights and activations; float32 is what the fixtures check
};

struct EncoderOutput {
    at::Tensor last_hidden_state;                 // [B, T, H]
    /// Filled when traces are requested; names as in the conformance fixtures:
    /// "conv_features" [B, C, T] (feature-encoder output, channels first), "feature_projection" [B, T, H],
    /// "pos_conv_embed" [B, T, H] (the added term), "encoder_layer_norm" [B, T, H] (post-LN: the input of
    /// layer 0; stable-LN: the final norm = encoder output), "encoder_layer{i}" [B, T, H] (output of layer i).
    std::map<std::string, at::Tensor> traces;
    /// Filled when traces are requested: transformers' `hidden_states` (output_hidden_states=True), num_layers + 1
    /// tensors [B, T, H]: the input of layer 0 (post-LN: after the encoder norm; stable-LN: projection + positional
    /// term), then each layer's output. As transformers 5 records them: for stable-LN the last entry is the last
    /// layer's raw output (transformers 4 appended the final norm instead; last_hidden_state is that norm).
    std::vector<at::Tensor> hidden_states;
};

class Encoder {
public:
    /// Loads `dir`/config.json, `dir`/preprocessor_config.json (optional) and the weights in `dir`
    /// (see weights_from_dir). Weights are converted to options.dtype (fp16 files are fine).
    static Encoder load_dir(const std::string& dir, const LoadOptions& options = {});
    /// Builds from a config and a weight source. `prefix` is prepended to every encoder weight name;
    /// without it, "", "wav2vec2." and "hubert." are tried (the first that holds the feature projection).
    static Encoder from_weights(const EncoderConfig& config, const FeatureExtractorConfig& features,
                                const WeightSource& weights, const LoadOptions& options = {},
                                const std::optional<std::string>& prefix = std::nullopt);

    const EncoderConfig& config() const;
    const FeatureExtractorConfig& feature_extractor() const;
    /// The weight-name prefix in use ("" for a bare model, "wav2vec2." inside Wav2Vec2ForCTC, ...).
    const std::string& prefix() const;
    c10::Device device() const;
    c10::ScalarType dtype() const;

    /// Wav2Vec2FeatureExtractor on one waveform [L] or a batch [B, L] (each row on its own):
    /// zero-mean unit-variance `(x - mean) / sqrt(var + 1e-7)` (population variance) when do_normalize,
    /// otherwise a copy. Returns float32 [B, L] on the CPU; computed in float64.
    at::Tensor prepare(const at::Tensor& waveform) const;

    /// The encoder on `input_values` [L] or [B, L] (any device; moved to the encoder's device and dtype).
    /// Throws Error(invalid_argument) if the input is shorter than config().min_samples().
    EncoderOutput forward(const at::Tensor& input_values, bool with_traces = false) const;

private:
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

/// Zero-mean unit-variance normalisation of each row of [L] or [B, L] as Wav2Vec2FeatureExtractor does it.
at::Tensor normalize_zero_mean_unit_var(const at::Tensor& waveform);

}  // namespace troupe::ssl
