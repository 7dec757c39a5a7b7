// features.hpp — Whisper's log-mel front end, as transformers' WhisperFeatureExtractor computes it (its torch
// path): pad or trim the 16 kHz waveform to n_samples (30 s for the released models), periodic Hann window,
// centred STFT with reflect padding (n_fft 400, hop 160), power spectrum without the last frame, Slaney-style
// mel filter bank (0–8 kHz, Slaney normalisation), log10 clamped at 1e-10, floor at max − 8, then (x + 4) / 4.
#pragma once

#include "config.hpp"

#include <ATen/Tensor.h>

namespace troupe::whisper {

/// The mel filter bank [n_fft/2 + 1, n_mels] (float32), as transformers' mel_filter_bank(…, norm="slaney",
/// mel_scale="slaney") computes it in float64.
at::Tensor mel_filter_bank(int64_t n_fft, int64_t n_mels, int64_t sampling_rate);

class LogMel {
public:
    explicit LogMel(const FrontEndConfig& config);
    const FrontEndConfig& config() const { return config_; }
    const at::Tensor& filters() const { return filters_; }

    /// Features of waveforms [L] or [B, L] (float32, any device; each row padded with zeros or cut to
    /// n_samples): [B, n_mels, nb_max_frames], float32 on the input's device. The max − 8 floor is per row.
    at::Tensor operator()(const at::Tensor& waveforms) const;

private:
    FrontEndConfig config_;
    at::Tensor filters_;  // [n_freq, n_mels], CPU float32
};

}  // namespace troupe::whisper
