#include <troupe/eval/signal_checks.hpp>

#include <troupe/eval/stats.hpp>
#include <troupe/eval/unicode.hpp>

#include <algorithm>
#include <cmath>

namespace troupe::eval {

bool SignalReport::has(const std::string& flag) const {
    return std::find(flags.begin(), flags.end(), flag) != flags.end();
}

namespace {
double to_db(double rms) { return rms > 1e-10 ? 20 * std::log10(rms) : -200; }
}  // namespace

SignalReport check_signal(const Audio& audio, const SignalThresholds& t) {
    SignalReport r;
    const auto& x = audio.samples;
    r.duration_s = audio.seconds();
    if (x.empty() || audio.sample_rate <= 0) {
        r.flags.push_back("empty");
        return r;
    }
    double sum = 0;
    size_t clipped = 0;
    int run = 0;
    for (float v : x) {
        if (!std::isfinite(v)) { r.non_finite++; run = 0; continue; }
        sum += v;
        double a = std::fabs(v);
        r.peak = std::max(r.peak, a);
        if (a >= t.clip_level) { clipped++; r.longest_clip_run = std::max(r.longest_clip_run, ++run); }
        else run = 0;
    }
    size_t finite = x.size() - r.non_finite;
    r.dc = finite ? sum / double(finite) : 0;
    r.peak_db = to_db(r.peak);
    r.clipped_fraction = double(clipped) / double(x.size());

    const int sr = audio.sample_rate;
    const size_t frame = std::max<size_t>(1, size_t(sr * t.frame_ms / 1000)), hop = std::max<size_t>(1, size_t(sr * t.hop_ms / 1000));
    std::vector<double> frame_db;
    for (size_t start = 0; start + frame <= x.size() || (start == 0 && x.size() > 0); start += hop) {
        size_t end = std::min(x.size(), start + frame);
        double e = 0;
        for (size_t i = start; i < end; ++i) {
            double v = std::isfinite(x[i]) ? x[i] - r.dc : 0;
            e += v * v;
        }
        frame_db.push_back(to_db(std::sqrt(e / double(end - start))));
        if (end == x.size()) break;
    }
    double loudest = frame_db.empty() ? -200 : *std::max_element(frame_db.begin(), frame_db.end());
    double threshold = std::max(loudest - t.vad_below_peak_db, t.vad_floor_db);
    long first = -1, last = -1;
    size_t speech_frames = 0;
    double longest_gap = 0;
    long previous_speech = -1;
    for (size_t i = 0; i < frame_db.size(); ++i) {
        if (frame_db[i] < threshold) continue;
        ++speech_frames;
        if (first < 0) first = long(i);
        if (previous_speech >= 0) {
            double gap = double(long(i) - previous_speech - 1) * double(hop) / sr;
            longest_gap = std::max(longest_gap, gap);
        }
        previous_speech = long(i);
        last = long(i);
    }
    r.speech_s = double(speech_frames) * double(hop) / sr;
    r.longest_pause_s = longest_gap;
    if (first >= 0) {
        r.leading_silence_s = double(first) * double(hop) / sr;
        double speech_end = std::min(double(size_t(last) * hop + frame), double(x.size())) / sr;
        r.trailing_silence_s = std::max(0.0, r.duration_s - speech_end);
    } else {
        r.leading_silence_s = r.trailing_silence_s = r.duration_s;
    }
    size_t tail = std::min(x.size(), size_t(sr * 0.02));
    double e = 0;
    for (size_t i = x.size() - tail; i < x.size(); ++i) {
        double v = std::isfinite(x[i]) ? x[i] - r.dc : 0;
        e += v * v;
    }
    r.end_rms_db = to_db(std::sqrt(e / double(std::max<size_t>(tail, 1))));

    if (r.duration_s < t.min_duration_s || r.speech_s < t.min_speech_s) r.flags.push_back("too_short");
    if (r.non_finite) r.flags.push_back("non_finite");
    if (std::fabs(r.dc) > t.dc_offset) r.flags.push_back("dc_offset");
    if (r.leading_silence_s > t.edge_silence_s) r.flags.push_back("leading_silence");
    if (r.trailing_silence_s > t.edge_silence_s) r.flags.push_back("trailing_silence");
    if (r.longest_pause_s > t.long_pause_s) r.flags.push_back("long_pause");
    if (r.clipped_fraction > t.clip_fraction || r.longest_clip_run >= t.clip_run) r.flags.push_back("clipping");
    if (r.end_rms_db > t.abrupt_end_db) r.flags.push_back("abrupt_end");
    return r;
}

size_t syllable_count(const std::string& text) {
    size_t n = 0;
    for (char32_t c : nfc(utf8_decode(text)))
        if (is_hangul_syllable(c) || (c < 0x80 && std::isalnum(int(c)))) ++n;
    return n;
}

std::vector<bool> duration_outliers(const std::vector<double>& sps, const SignalThresholds& t) {
    std::vector<double> valid;
    for (double v : sps)
        if (v > 0 && std::isfinite(v)) valid.push_back(v);
    std::vector<bool> out(sps.size(), false);
    if (valid.size() < 3) return out;  // too few to define the voice's rate
    double m = median(valid);
    for (size_t i = 0; i < sps.size(); ++i)
        if (sps[i] > 0 && std::isfinite(sps[i])) out[i] = sps[i] < t.duration_ratio_lo * m || sps[i] > t.duration_ratio_hi * m;
    return out;
}

}  // namespace troupe::eval
