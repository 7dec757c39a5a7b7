// troupe/eval/dsp.hpp — small DSP used by the weight-free scorers: resampling, FFT power spectra,
// log-mel filterbank energies and MFCCs (HTK mel scale, Hann window, DCT-II with orthonormal scaling).
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace troupe::eval {

/// Band-limited resampling with a Hann-windowed sinc (16 zero crossings each side), gain-normalised.
/// Not troupe::resample (framework, Kaiser, 32 crossings): the scorer features are defined on this one,
/// which gives different numbers and is ~12x faster, and troupe_eval does not link troupe_core.
std::vector<float> resample(const std::vector<float>& x, int from_rate, int to_rate);

/// In-place radix-2 FFT; size must be a power of two.
void fft(std::vector<std::complex<double>>& a);

struct MelConfig {
    int sample_rate = 16000;
    int n_fft = 512;
    double frame_ms = 25, hop_ms = 10;
    int n_mels = 40;
    double f_min = 20, f_max = 7600;
    int n_mfcc = 20;
};

/// Log-mel energies per frame ([frames][n_mels], natural log with a 1e-10 floor).
std::vector<std::vector<double>> log_mel(const std::vector<float>& x, const MelConfig& config);
/// MFCCs per frame ([frames][n_mfcc]) from log_mel by DCT-II.
std::vector<std::vector<double>> mfcc(const std::vector<std::vector<double>>& log_mel_frames, int n_mfcc);

/// Spectral flatness (geometric / arithmetic mean of the power spectrum) of one frame.
double spectral_flatness(const std::vector<double>& power);

/// Deterministic standard-normal numbers (splitmix64 + Box–Muller), identical on every platform.
std::vector<double> seeded_normal(uint64_t seed, size_t count);

}  // namespace troupe::eval
