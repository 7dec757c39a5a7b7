#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace troupe::ssl {

int64_t resampled_length(int64_t length, int from_rate, int to_rate) {
    if (from_rate <= 0 || to_rate <= 0)
        throw Error(Errc::invalid_argument, fmt::format("resample: rates must be positive ({} -> {})", from_rate, to_rate));
    const int64_t g = std::gcd(int64_t(from_rate), int64_t(to_rate));
    const int64_t o = from_rate / g, n = to_rate / g;
    return (length * n + o - 1) / o;
}

std::vector<float> resample(const std::vector<float>& samples, int from_rate, int to_rate, const ResampleOptions& options) {
    const int64_t out_len = resampled_length(int64_t(samples.size()), from_rate, to_rate);
    if (options.lowpass_filter_width <= 0 || !(options.rolloff > 0) || options.rolloff > 1)
        throw Error(Errc::invalid_argument, "resample: lowpass_filter_width must be positive and rolloff in (0, 1]");
    if (from_rate == to_rate) return samples;

    const int64_t g = std::gcd(int64_t(from_rate), int64_t(to_rate));
    const int64_t o = from_rate / g, n = to_rate / g;
    const double width_zc = options.lowpass_filter_width;
    const double base = double(std::min(o, n)) * options.rolloff;
    const int64_t w = int64_t(std::ceil(width_zc * double(o) / base));
    const int64_t taps = 2 * w + o;
    const double pi = 3.14159265358979323846;

    // One kernel per output phase, computed in float32 in torchaudio's order of operations (it builds the
    // kernel in the waveform's dtype), so that the taps are bit-for-bit or nearly so the same as torchaudio's.
    const float basef = float(base), pif = float(pi), widthf = float(width_zc), scalef = float(base / double(o));
    std::vector<float> kernels(static_cast<size_t>(n * taps));
    for (int64_t p = 0; p < n; ++p)
        for (int64_t k = 0; k < taps; ++k) {
            float t = float(-p) / float(n) + float(k - w) / float(o);
            t = std::clamp(t * basef, -widthf, widthf);
            float window = std::cos(t * pif / widthf / 2.0f);
            window = window * window;
            t = t * pif;
            const float sinc = t == 0.0f ? 1.0f : std::sin(t) / t;
            kernels[size_t(p * taps + k)] = sinc * (window * scalef);
        }

    const int64_t L = int64_t(samples.size());
    std::vector<float> out(static_cast<size_t>(out_len));
    for (int64_t j = 0; j < out_len; ++j) {
        const int64_t frame = j / n, p = j % n;
        const int64_t start = frame * o - w;  // input index of tap 0
        const float* h = &kernels[size_t(p * taps)];
        const int64_t k0 = std::max<int64_t>(0, -start), k1 = std::min<int64_t>(taps, L - start);
        double acc = 0.0;
        for (int64_t k = k0; k < k1; ++k) acc += double(h[k]) * double(samples[size_t(start + k)]);
        out[size_t(j)] = float(acc);
    }
    return out;
}

}  // namespace troupe::ssl
