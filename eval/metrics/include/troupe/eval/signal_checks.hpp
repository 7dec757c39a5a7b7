// troupe/eval/signal_checks.hpp — deterministic per-utterance signal checks (a failure detector,
// not a quality score): energy VAD, leading/trailing silence, long internal pause, clipping, NaN/Inf,
// DC offset, abrupt end, and the duration-per-syllable outlier test (done across a voice's utterances).
#pragma once

#include <troupe/types.hpp>

#include <string>
#include <vector>

namespace troupe::eval {

struct SignalThresholds {
    double frame_ms = 20, hop_ms = 10;
    double vad_below_peak_db = 40;      // speech frame: RMS within this many dB of the loudest frame …
    double vad_floor_db = -55;          // … and above this absolute floor (dBFS)
    double min_duration_s = 0.3, min_speech_s = 0.2;
    double edge_silence_s = 1.0;        // leading / trailing
    double long_pause_s = 1.5;
    double clip_level = 0.999, clip_fraction = 0.001;
    int clip_run = 3;                   // consecutive full-scale samples
    double dc_offset = 0.05;
    double abrupt_end_db = -30;         // RMS of the last 20 ms above this (no decay)
    double duration_ratio_lo = 0.5, duration_ratio_hi = 2.0;  // vs the voice's median s/syllable
};

struct SignalReport {
    double duration_s = 0, speech_s = 0;
    double leading_silence_s = 0, trailing_silence_s = 0, longest_pause_s = 0;
    double peak = 0, peak_db = -200, dc = 0, clipped_fraction = 0, end_rms_db = -200;
    int longest_clip_run = 0;
    size_t non_finite = 0;
    std::vector<std::string> flags;  // empty = clean. Names: empty, too_short, non_finite, dc_offset,
                                     // leading_silence, trailing_silence, long_pause, clipping, abrupt_end
    bool has(const std::string& flag) const;
};

SignalReport check_signal(const Audio& audio, const SignalThresholds& t = {});

/// Korean syllables (Hangul) plus other letters/digits counted as one each, for duration ratios.
size_t syllable_count(const std::string& text);

/// Flags `duration_outlier` on utterances whose seconds-per-syllable is outside
/// [lo, hi] × the median of the same voice; `seconds_per_syllable[i] <= 0` is skipped.
std::vector<bool> duration_outliers(const std::vector<double>& seconds_per_syllable, const SignalThresholds& t = {});

}  // namespace troupe::eval
