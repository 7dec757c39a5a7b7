// troupe/ssl/resample.hpp — band-limited resampling of mono float audio (no LibTorch).
//
// Polyphase windowed-sinc resampling with the same kernel, padding and output length as
// torchaudio.functional.resample's default ("sinc_interp_hann", lowpass_filter_width 6, rolloff 0.99):
// rates are reduced by their gcd (orig -> o, new -> n); output sample j of phase p = j mod n is
//   y[j] = sum_k x[(j div n) * o + k - w] * h_p(k),  k = 0 .. 2w + o - 1,  w = ceil(6 * o / (min(o, n) * 0.99)),
//   h_p(k) = sinc(pi * b * t) * cos^2(pi * t * b / 12) * b / o,  t = (k - w) / o - p / n clamped to ±6/b, b = min(o, n) * 0.99
// (x is zero outside [0, L)); the output has ceil(L * n / o) samples. Equal rates return the input.
// The taps are computed in float32 in torchaudio's order of operations and summed in double: outputs match
// torchaudio 2.11 to ~2e-7 (tests/ssl/data/torchaudio_resample.*). GPT-SoVITS resamples the reference for its
// spectrogram with torchaudio; its HuBERT input goes through librosa (soxr), which this does not reproduce.
// Kept apart from troupe::resample and eval::resample on purpose: this one is torchaudio-exact (conformance).
#pragma once

#include <cstdint>
#include <vector>

namespace troupe::ssl {

struct ResampleOptions {
    int lowpass_filter_width = 6;  // zero crossings on each side of the kernel
    double rolloff = 0.99;         // cutoff as a fraction of the lower Nyquist frequency
};

/// Resamples `samples` from `from_rate` to `to_rate` Hz. Throws Error(invalid_argument) for non-positive
/// rates or options.
std::vector<float> resample(const std::vector<float>& samples, int from_rate, int to_rate,
                            const ResampleOptions& options = {});

/// Output length for `length` input samples: ceil(length * to / from) with the rates reduced by their gcd.
int64_t resampled_length(int64_t length, int from_rate, int to_rate);

}  // namespace troupe::ssl
