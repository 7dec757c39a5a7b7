#include "features.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace troupe::whisper {
namespace {

// Slaney's mel scale (librosa / transformers "slaney"): linear below 1 kHz, logarithmic above.
constexpr double kMinLogHertz = 1000.0, kMinLogMel = 15.0;
const double kLogStep = 27.0 / std::log(6.4);

double hertz_to_mel(double hz) {
    return hz >= kMinLogHertz ? kMinLogMel + std::log(hz / kMinLogHertz) * kLogStep : 3.0 * hz / 200.0;
}
double mel_to_hertz(double mel) {
    return mel >= kMinLogMel ? kMinLogHertz * std::exp((mel - kMinLogMel) / kLogStep) : 200.0 * mel / 3.0;
}

}  // namespace

at::Tensor mel_filter_bank(int64_t n_fft, int64_t n_mels, int64_t sampling_rate) {
    const int64_t n_freq = n_fft / 2 + 1;
    const double mel_min = hertz_to_mel(0.0), mel_max = hertz_to_mel(8000.0);
    std::vector<double> filter_freqs(size_t(n_mels + 2));
    for (int64_t i = 0; i < n_mels + 2; ++i) {
        // np.linspace(mel_min, mel_max, n_mels + 2)
        const double mel = mel_min + (mel_max - mel_min) * double(i) / double(n_mels + 1);
        filter_freqs[size_t(i)] = mel_to_hertz(i == n_mels + 1 ? mel_max : mel);
    }
    at::Tensor out = at::zeros({n_freq, n_mels}, at::kDouble);
    auto acc = out.accessor<double, 2>();
    const double nyquist = double(sampling_rate / 2);
    for (int64_t f = 0; f < n_freq; ++f) {
        const double fft_freq = n_freq == 1 ? 0.0 : nyquist * double(f) / double(n_freq - 1);  // np.linspace(0, sr // 2, n_freq)
        for (int64_t m = 0; m < n_mels; ++m) {
            const double lower = filter_freqs[size_t(m)], centre = filter_freqs[size_t(m + 1)], upper = filter_freqs[size_t(m + 2)];
            const double down = (fft_freq - lower) / (centre - lower);   // -slopes[:, :-2] / diff[:-1]
            const double up = (upper - fft_freq) / (upper - centre);     // slopes[:, 2:] / diff[1:]
            const double enorm = 2.0 / (upper - lower);
            acc[f][m] = std::max(0.0, std::min(down, up)) * enorm;
        }
    }
    return out.to(at::kFloat);
}

LogMel::LogMel(const FrontEndConfig& config) : config_(config) {
    filters_ = mel_filter_bank(config.n_fft, config.feature_size, config.sampling_rate);
}

at::Tensor LogMel::operator()(const at::Tensor& waveforms) const {
    at::Tensor x = waveforms.dim() == 1 ? waveforms.unsqueeze(0) : waveforms;
    if (x.dim() != 2) throw Error(Errc::invalid_argument, "whisper features: expected a waveform [L] or [B, L]");
    x = x.to(at::kFloat);
    const int64_t n = config_.n_samples;
    if (x.size(1) > n) x = x.narrow(1, 0, n);
    else if (x.size(1) < n) x = at::constant_pad_nd(x, {0, n - x.size(1)}, 0.0);
    const at::Tensor window = at::hann_window(config_.n_fft, x.options());
    const at::Tensor spec = at::stft(x, config_.n_fft, config_.hop_length, c10::nullopt, window, /*center=*/true,
                                     "reflect", /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);
    const at::Tensor power = at::abs(spec.narrow(-1, 0, spec.size(-1) - 1)).pow(2);  // [B, n_freq, frames]
    const at::Tensor mel = at::matmul(filters_.to(x.device()).t(), power);         // [B, n_mels, frames]
    at::Tensor log_spec = at::clamp_min(mel, 1e-10).log10();
    const at::Tensor max_val = std::get<0>(std::get<0>(log_spec.max(2, true)).max(1, true));
    log_spec = at::maximum(log_spec, max_val - 8.0);
    return (log_spec + 4.0) / 4.0;
}

}  // namespace troupe::whisper
