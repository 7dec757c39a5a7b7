// s2/spectrogram.hpp — upstream module/mel_processing.spectrogram_torch: the linear magnitude
// spectrogram SoVITS takes as its reference (reflect pad (n_fft−hop)/2 each side, periodic Hann,
// center=False, onesided, sqrt(re² + im² + 1e-8); no log, no mel).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace troupe::sovits::s2 {

struct SpectrogramParams {
    int64_t n_fft = 2048, hop = 640, win = 2048;
    int64_t sampling_rate = 32000;
    int64_t bins() const { return n_fft / 2 + 1; }
};

/// wav (N) or (B, N) float at params.sampling_rate → (B, n_fft/2+1, (N + 2·pad − n_fft)/hop + 1).
/// Throws Error(invalid_argument) when the signal is shorter than the reflect padding allows.
at::Tensor linear_spectrogram(const at::Tensor& wav, const SpectrogramParams& params);

/// What upstream does to a loaded reference before the spectrogram (get_spepc / _get_ref_spec):
/// a (C, N) or (N) signal is averaged to mono and divided by min(2, peak) when its peak exceeds 1.
at::Tensor prepare_reference_audio(const at::Tensor& wav);

}  // namespace troupe::sovits::s2
