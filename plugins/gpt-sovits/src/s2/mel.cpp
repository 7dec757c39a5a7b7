#include "s2/mel.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace troupe::sovits::s2 {
namespace {

// librosa's Slaney mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
constexpr double kFSp = 200.0 / 3.0, kMinLogHz = 1000.0, kMinLogMel = kMinLogHz / kFSp;
const double kLogStep = std::log(6.4) / 27.0;

double hz_to_mel(double f) { return f >= kMinLogHz ? kMinLogMel + std::log(f / kMinLogHz) / kLogStep : f / kFSp; }
double mel_to_hz(double m) { return m >= kMinLogMel ? kMinLogHz * std::exp(kLogStep * (m - kMinLogMel)) : kFSp * m; }

// numpy.linspace(a, b, n) (endpoint included), as numpy computes it: a + i·step, last = b.
std::vector<double> linspace(double a, double b, int64_t n) {
    std::vector<double> v(size_t(std::max<int64_t>(n, 0)));
    if (n == 1) {
        v[0] = a;
        return v;
    }
    const double step = (b - a) / double(n - 1);
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = a + double(i) * step;
    if (n > 1) v[size_t(n - 1)] = b;
    return v;
}

}  // namespace

at::Tensor mel_filter_bank(int64_t sr, int64_t n_fft, const MelParams& p) {
    const double fmax = p.fmax ? *p.fmax : double(sr) / 2.0;
    if (p.n_mels < 1 || n_fft < 2 || !(p.fmin >= 0) || !(fmax > p.fmin))
        throw Error(Errc::invalid_argument, "mel filter bank: need n_mels ≥ 1, n_fft ≥ 2 and 0 ≤ fmin < fmax");
    const int64_t bins = n_fft / 2 + 1;
    // numpy.fft.rfftfreq(n_fft, 1/sr): i · (1 / (n_fft · (1/sr))).
    std::vector<double> fft_freqs(static_cast<size_t>(bins));
    const double val = 1.0 / (double(n_fft) * (1.0 / double(sr)));
    for (int64_t k = 0; k < bins; ++k) fft_freqs[size_t(k)] = double(k) * val;
    std::vector<double> mels = linspace(hz_to_mel(p.fmin), hz_to_mel(fmax), p.n_mels + 2);
    std::vector<double> mel_f(mels.size());
    std::transform(mels.begin(), mels.end(), mel_f.begin(), mel_to_hz);
    at::Tensor w = at::zeros({p.n_mels, bins}, at::kFloat);
    float* out = w.data_ptr<float>();
    for (int64_t i = 0; i < p.n_mels; ++i) {
        const double fdiff_lo = mel_f[size_t(i) + 1] - mel_f[size_t(i)];
        const double fdiff_hi = mel_f[size_t(i) + 2] - mel_f[size_t(i) + 1];
        const double enorm = 2.0 / (mel_f[size_t(i) + 2] - mel_f[size_t(i)]);
        for (int64_t k = 0; k < bins; ++k) {
            const double lower = -(mel_f[size_t(i)] - fft_freqs[size_t(k)]) / fdiff_lo;
            const double upper = (mel_f[size_t(i) + 2] - fft_freqs[size_t(k)]) / fdiff_hi;
            // librosa stores the triangle in float32, then multiplies by the (float64) norm in place.
            const float tri = float(std::max(0.0, std::min(lower, upper)));
            out[i * bins + k] = float(double(tri) * enorm);
        }
    }
    return w;
}

at::Tensor spec_to_mel(const at::Tensor& spec, const at::Tensor& basis) {
    at::Tensor mel = at::matmul(basis.to(spec.device(), spec.scalar_type()), spec);
    return at::log(at::clamp_min(mel, 1e-5));
}

at::Tensor mel_spectrogram(const at::Tensor& wav, const SpectrogramParams& params, const at::Tensor& basis) {
    return spec_to_mel(linear_spectrogram(wav, params), basis);
}

}  // namespace troupe::sovits::s2
