#include "s2/spectrogram.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>

namespace troupe::sovits::s2 {

at::Tensor linear_spectrogram(const at::Tensor& wav_in, const SpectrogramParams& p) {
    at::Tensor y = wav_in.to(at::kFloat);
    if (y.dim() == 1) y = y.unsqueeze(0);
    if (y.dim() != 2) throw Error(Errc::invalid_argument, "spectrogram: expected a (N) or (B, N) waveform");
    const int64_t pad = (p.n_fft - p.hop) / 2;
    if (y.size(1) <= pad)
        throw Error(Errc::invalid_argument,
                    fmt::format("spectrogram: {} samples are too few for the reflect padding of {}", y.size(1), pad));
    if (y.size(1) + 2 * pad < p.n_fft)
        throw Error(Errc::invalid_argument, fmt::format("spectrogram: {} samples give no frame", y.size(1)));
    y = at::reflection_pad1d(y.unsqueeze(1), {pad, pad}).squeeze(1);
    const at::Tensor window = at::hann_window(p.win, /*periodic=*/true, y.options());
    at::Tensor spec = at::stft(y, p.n_fft, p.hop, p.win, window, /*normalized=*/false, /*onesided=*/true,
                               /*return_complex=*/true);
    spec = at::view_as_real(spec);
    return at::sqrt(spec.pow(2).sum(-1) + 1e-8);
}

at::Tensor prepare_reference_audio(const at::Tensor& wav_in) {
    at::Tensor a = wav_in.to(at::kFloat);
    if (a.dim() == 2) a = a.size(0) == 1 ? a.squeeze(0) : a.mean(0);
    if (a.dim() != 1) throw Error(Errc::invalid_argument, "reference audio: expected (N) or (C, N) samples");
    const double peak = a.numel() ? a.abs().max().item<double>() : 0.0;
    if (peak > 1.0) a = a / std::min(2.0, peak);
    return a;
}

}  // namespace troupe::sovits::s2
