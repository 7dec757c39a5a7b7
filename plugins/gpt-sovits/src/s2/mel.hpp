// s2/mel.hpp — the mel side of SoVITS training (upstream module/mel_processing.py): librosa's mel
// filter bank (Slaney scale and area normalisation, as librosa.filters.mel with htk=False,
// norm="slaney", float32), spec_to_mel_torch and mel_spectrogram_torch.
#pragma once

#include "s2/spectrogram.hpp"

#include <ATen/Tensor.h>

#include <optional>

namespace troupe::sovits::s2 {

struct MelParams {
    int64_t n_mels = 128;
    double fmin = 0;
    std::optional<double> fmax;  // none: sampling_rate / 2 (upstream's mel_fmax null)
};

/// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax): (n_mels, n_fft/2+1) float32 on the CPU.
at::Tensor mel_filter_bank(int64_t sampling_rate, int64_t n_fft, const MelParams& mel);

/// spec_to_mel_torch: log(clamp(basis @ spec, 1e-5)); spec (B, bins, T) → (B, n_mels, T).
at::Tensor spec_to_mel(const at::Tensor& spec, const at::Tensor& basis);

/// mel_spectrogram_torch: the linear spectrogram of wav (B, N) (spectrogram.hpp: reflect pad,
/// Hann, center=False, sqrt(re²+im²+1e-8)) through spec_to_mel. Differentiable.
at::Tensor mel_spectrogram(const at::Tensor& wav, const SpectrogramParams& params, const at::Tensor& basis);

}  // namespace troupe::sovits::s2
