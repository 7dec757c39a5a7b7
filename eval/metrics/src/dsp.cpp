#include <troupe/eval/dsp.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace troupe::eval {

namespace {
constexpr double kPi = 3.14159265358979323846;
double hz_to_mel(double f) { return 2595.0 * std::log10(1.0 + f / 700.0); }
double mel_to_hz(double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); }
}  // namespace

std::vector<float> resample(const std::vector<float>& x, int from_rate, int to_rate) {
    if (from_rate == to_rate || x.empty() || from_rate <= 0 || to_rate <= 0) return x;
    const double ratio = double(to_rate) / from_rate;
    const double cutoff = std::min(1.0, ratio);  // relative to the input Nyquist
    const int half = 16;
    const double support = half / cutoff;
    size_t n_out = size_t(std::floor(double(x.size()) * ratio));
    std::vector<float> y(n_out);
    for (size_t i = 0; i < n_out; ++i) {
        double t = double(i) / ratio;
        long lo = long(std::ceil(t - support)), hi = long(std::floor(t + support));
        double acc = 0, wsum = 0;
        for (long k = std::max(0L, lo); k <= std::min(long(x.size()) - 1, hi); ++k) {
            double d = (t - double(k)) * cutoff;
            double sinc = std::fabs(d) < 1e-12 ? 1.0 : std::sin(kPi * d) / (kPi * d);
            double w = 0.5 * (1 + std::cos(kPi * (t - double(k)) / support));
            acc += x[size_t(k)] * sinc * w;
            wsum += sinc * w;
        }
        y[i] = float(wsum != 0 ? acc * cutoff / (wsum * cutoff) : 0);
    }
    return y;
}

void fft(std::vector<std::complex<double>>& a) {
    const size_t n = a.size();
    for (size_t i = 1, j = 0; i < n; ++i) {
        size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (size_t len = 2; len <= n; len <<= 1) {
        double angle = -2 * kPi / double(len);
        std::complex<double> wl(std::cos(angle), std::sin(angle));
        for (size_t i = 0; i < n; i += len) {
            std::complex<double> w(1);
            for (size_t k = 0; k < len / 2; ++k) {
                auto u = a[i + k], v = a[i + k + len / 2] * w;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
                w *= wl;
            }
        }
    }
}

std::vector<std::vector<double>> log_mel(const std::vector<float>& x, const MelConfig& c) {
    const size_t frame = size_t(c.sample_rate * c.frame_ms / 1000), hop = size_t(c.sample_rate * c.hop_ms / 1000);
    const size_t n_fft = size_t(c.n_fft), bins = n_fft / 2 + 1;
    // triangular filters on the HTK mel scale
    std::vector<double> edges(size_t(c.n_mels) + 2);
    double m0 = hz_to_mel(c.f_min), m1 = hz_to_mel(std::min(c.f_max, c.sample_rate / 2.0));
    for (size_t i = 0; i < edges.size(); ++i) edges[i] = mel_to_hz(m0 + (m1 - m0) * double(i) / double(edges.size() - 1));
    std::vector<std::vector<double>> filters(size_t(c.n_mels), std::vector<double>(bins, 0));
    for (size_t m = 0; m < size_t(c.n_mels); ++m)
        for (size_t b = 0; b < bins; ++b) {
            double f = double(b) * c.sample_rate / double(n_fft);
            double up = (f - edges[m]) / (edges[m + 1] - edges[m]), down = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
            filters[m][b] = std::max(0.0, std::min(up, down));
        }
    std::vector<double> window(frame);
    for (size_t i = 0; i < frame; ++i) window[i] = 0.5 - 0.5 * std::cos(2 * kPi * double(i) / double(frame));
    std::vector<std::vector<double>> out;
    std::vector<std::complex<double>> buf(n_fft);
    for (size_t start = 0; start + frame <= x.size(); start += hop) {
        std::fill(buf.begin(), buf.end(), 0.0);
        for (size_t i = 0; i < frame && i < n_fft; ++i) buf[i] = double(x[start + i]) * window[i];
        fft(buf);
        std::vector<double> mel(size_t(c.n_mels), 0);
        for (size_t m = 0; m < mel.size(); ++m) {
            double e = 0;
            for (size_t b = 0; b < bins; ++b)
                if (filters[m][b] > 0) e += filters[m][b] * std::norm(buf[b]);
            mel[m] = std::log(std::max(e, 1e-10));
        }
        out.push_back(std::move(mel));
    }
    return out;
}

std::vector<std::vector<double>> mfcc(const std::vector<std::vector<double>>& frames, int n_mfcc) {
    std::vector<std::vector<double>> out;
    out.reserve(frames.size());
    for (const auto& f : frames) {
        const size_t M = f.size();
        std::vector<double> c(size_t(n_mfcc), 0);
        for (size_t k = 0; k < size_t(n_mfcc); ++k) {
            double s = 0;
            for (size_t m = 0; m < M; ++m) s += f[m] * std::cos(kPi * double(k) * (double(m) + 0.5) / double(M));
            c[k] = s * std::sqrt((k == 0 ? 1.0 : 2.0) / double(M));
        }
        out.push_back(std::move(c));
    }
    return out;
}

double spectral_flatness(const std::vector<double>& power) {
    if (power.empty()) return 0;
    double log_sum = 0, sum = 0;
    for (double p : power) {
        double v = std::max(p, 1e-12);
        log_sum += std::log(v);
        sum += v;
    }
    double am = sum / double(power.size());
    return am > 0 ? std::exp(log_sum / double(power.size())) / am : 0;
}

std::vector<double> seeded_normal(uint64_t seed, size_t count) {
    uint64_t state = seed;
    auto next = [&]() {
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    auto uniform = [&]() { return (double(next() >> 11) + 0.5) / 9007199254740992.0; };  // (0,1)
    std::vector<double> out(count);
    for (size_t i = 0; i < count; i += 2) {
        double u1 = uniform(), u2 = uniform();
        double r = std::sqrt(-2 * std::log(u1));
        out[i] = r * std::cos(2 * kPi * u2);
        if (i + 1 < count) out[i + 1] = r * std::sin(2 * kPi * u2);
    }
    return out;
}

}  // namespace troupe::eval
