#include "signal_quality.hpp"

#include <troupe/eval/dsp.hpp>
#include <troupe/eval/stats.hpp>

#include <algorithm>
#include <cmath>
#include <complex>

namespace troupe::signal_quality {
namespace {

double param_double(const Params& p, const std::string& key, double fallback) {
    auto it = p.find(key);
    if (it == p.end() || it->second.empty()) return fallback;
    try {
        size_t used = 0;
        double v = std::stod(it->second, &used);
        if (used != it->second.size() || !std::isfinite(v) || v < 0) throw std::invalid_argument("bad");
        return v;
    } catch (const std::exception&) {
        throw Error(Errc::invalid_argument, "signal-quality: parameter " + key + " = '" + it->second + "' is not a non-negative number");
    }
}

}  // namespace

SignalQuality::SignalQuality(const Params& params) {
    thresholds_.edge_silence_s = param_double(params, "edge_silence_s", thresholds_.edge_silence_s);
    thresholds_.long_pause_s = param_double(params, "long_pause_s", thresholds_.long_pause_s);
    flatness_max_ = param_double(params, "flatness_max", flatness_max_);
}

std::string SignalQuality::describe() const noexcept {
    return "signal-quality 0.1.0: signal-level failure detector (energy VAD; edge silence > " +
           std::to_string(thresholds_.edge_silence_s) + " s, pause > " + std::to_string(thresholds_.long_pause_s) +
           " s, clipping, NaN/DC, abrupt end, speech spectral flatness > " + std::to_string(flatness_max_) +
           "); score 1 = clean, 0 = flagged; not a MOS";
}

double median_speech_flatness(const Audio& audio) {
    std::vector<float> x = eval::resample(audio.samples, audio.sample_rate, 16000);
    const size_t frame = 400, hop = 160, n_fft = 512;
    std::vector<double> rms_db, flat;
    std::vector<std::complex<double>> buf(n_fft);
    struct F { double db, flatness; };
    std::vector<F> frames;
    for (size_t s = 0; s + frame <= x.size(); s += hop) {
        std::fill(buf.begin(), buf.end(), 0.0);
        double e = 0;
        for (size_t i = 0; i < frame; ++i) {
            double w = 0.5 - 0.5 * std::cos(2 * 3.14159265358979323846 * double(i) / double(frame));
            buf[i] = double(x[s + i]) * w;
            e += double(x[s + i]) * x[s + i];
        }
        eval::fft(buf);
        std::vector<double> power(n_fft / 2 + 1);
        for (size_t b = 0; b < power.size(); ++b) power[b] = std::norm(buf[b]);
        frames.push_back({e > 0 ? 10 * std::log10(e / double(frame)) : -200, eval::spectral_flatness(power)});
    }
    if (frames.empty()) return 0;
    double loudest = -200;
    for (const auto& f : frames) loudest = std::max(loudest, f.db);
    std::vector<double> speech;
    for (const auto& f : frames)
        if (f.db >= std::max(loudest - 40, -55.0)) speech.push_back(f.flatness);
    return speech.empty() ? 0 : eval::median(speech);
}

Status SignalQuality::estimate(const Audio& audio, QualityEstimate& out) noexcept {
    return guard([&] {
        eval::SignalReport r = eval::check_signal(audio, thresholds_);
        out = {};
        out.details["duration_s"] = r.duration_s;
        out.details["speech_s"] = r.speech_s;
        out.details["leading_silence_s"] = r.leading_silence_s;
        out.details["trailing_silence_s"] = r.trailing_silence_s;
        out.details["longest_pause_s"] = r.longest_pause_s;
        out.details["peak_db"] = r.peak_db;
        out.details["dc"] = r.dc;
        out.details["clipped_fraction"] = r.clipped_fraction;
        out.details["end_rms_db"] = r.end_rms_db;
        out.details["non_finite"] = double(r.non_finite);
        if (r.non_finite == 0 && !r.has("empty")) {
            double flatness = median_speech_flatness(audio);
            out.details["speech_flatness"] = flatness;
            if (flatness > flatness_max_) r.flags.push_back("noise_like");
        }
        for (const auto& f : r.flags) out.details["flag." + f] = 1;
        out.score = r.flags.empty() ? 1.0 : 0.0;
        out.method = "signal-level failure detector (not MOS): 1 = no flag, 0 = flagged";
    });
}

}  // namespace troupe::signal_quality
