// troupe/ssl/hubert.hpp — HuBERT content features as GPT-SoVITS computes them (cnhubert `last_hidden_state`).
//
// Upstream (inference_webui.py / TTS._set_prompt_semantic, see research/gpt-sovits.md §1.7):
//   1. the reference is loaded at 16 kHz (librosa; use ssl::resample here for other rates),
//   2. 9600 zero samples are appended (int(32000 * 0.3): sized with the 32 kHz rate, so 0.6 s at 16 kHz),
//   3. HubertModel is called directly on the raw waveform — the Wav2Vec2FeatureExtractor normalisation is
//      bypassed — and `last_hidden_state` [1, F, 768] is taken (F ≈ samples / 320, 50 Hz).
// S2's `extract_latent` wants it channels first: `last_hidden_state.transpose(1, 2)` → [1, 768, F].
//
// Training-side data preparation (2-get-hubert-wav32k.py) feeds HuBERT without the pad and without the
// normalisation too; use `append_silence = false` there.
#pragma once

#include <troupe/ssl/encoder.hpp>

#include <ATen/Tensor.h>

#include <vector>

namespace troupe::ssl {

struct HubertCallOptions {
    /// Append GPT-SoVITS's 9600 zero samples (0.6 s at 16 kHz) before encoding (inference reference path).
    bool append_silence = true;
    /// Apply the feature extractor's zero-mean unit-variance normalisation first. Upstream GPT-SoVITS does
    /// NOT (it calls the model directly); true reproduces `HubertModel(feature_extractor(wav))` instead.
    bool normalize = false;
};

/// Number of zero samples GPT-SoVITS appends to the 16 kHz reference.
constexpr int64_t kGptSovitsHubertPadSamples = 9600;

/// HuBERT `last_hidden_state` [1, F, H] (encoder device and dtype) for one mono 16 kHz waveform [L]
/// (a tensor on any device, or samples). Throws Error(invalid_argument) for an empty or too short input
/// and if the encoder's feature extractor declares a sampling rate other than 16000.
at::Tensor hubert_features(const Encoder& hubert, const at::Tensor& wave16k, const HubertCallOptions& options = {});
at::Tensor hubert_features(const Encoder& hubert, const std::vector<float>& wave16k,
                           const HubertCallOptions& options = {});

}  // namespace troupe::ssl
