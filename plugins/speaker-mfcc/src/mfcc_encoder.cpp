#include "mfcc_encoder.hpp"

#include <troupe/eval/dsp.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace troupe::speaker_mfcc {
namespace {

long param_int(const Params& p, const std::string& key, long fallback) {
    auto it = p.find(key);
    if (it == p.end() || it->second.empty()) return fallback;
    try {
        size_t used = 0;
        long v = std::stol(it->second, &used);
        if (used != it->second.size()) throw std::invalid_argument("trailing characters");
        return v;
    } catch (const std::exception&) {
        throw Error(Errc::invalid_argument, "speaker-mfcc: parameter " + key + " = '" + it->second + "' is not an integer");
    }
}

}  // namespace

std::vector<double> speaker_statistics(const Audio& audio, int sample_rate) {
    if (audio.sample_rate <= 0 || audio.samples.empty())
        throw Error(Errc::invalid_argument, "speaker-mfcc: empty audio");
    for (float v : audio.samples)
        if (!std::isfinite(v)) throw Error(Errc::invalid_argument, "speaker-mfcc: audio holds NaN/Inf samples");
    std::vector<float> x = eval::resample(audio.samples, audio.sample_rate, sample_rate);
    eval::MelConfig config;
    config.sample_rate = sample_rate;
    auto mel = eval::log_mel(x, config);
    if (mel.size() < 10) throw Error(Errc::invalid_argument, "speaker-mfcc: audio shorter than 0.1 s");
    // speech frames: total log energy within 40 dB (≈ 9.2 nepers) of the loudest frame
    std::vector<double> energy(mel.size());
    for (size_t i = 0; i < mel.size(); ++i) {
        double e = 0;
        for (double v : mel[i]) e += std::exp(v);
        energy[i] = std::log(std::max(e, 1e-10));
    }
    double loudest = *std::max_element(energy.begin(), energy.end());
    std::vector<std::vector<double>> speech;
    for (size_t i = 0; i < mel.size(); ++i)
        if (energy[i] >= loudest - 9.21 && energy[i] > std::log(1e-6)) speech.push_back(mel[i]);
    if (speech.size() < 5) throw Error(Errc::invalid_argument, "speaker-mfcc: fewer than 5 speech frames (silent audio?)");
    auto cc = eval::mfcc(speech, 20);
    std::vector<double> stats(kStatisticsSize, 0);
    const double n = double(cc.size());
    for (size_t k = 1; k < 20; ++k) {
        double m = 0, v = 0;
        for (const auto& f : cc) m += f[k] / n;
        for (const auto& f : cc) v += (f[k] - m) * (f[k] - m) / n;
        stats[k - 1] = m;
        stats[19 + k - 1] = std::sqrt(v);
    }
    std::vector<double> shape(40, 0);
    for (const auto& f : speech)
        for (size_t m = 0; m < 40; ++m) shape[m] += f[m] / double(speech.size());
    double shape_mean = 0;
    for (double v : shape) shape_mean += v / 40;
    for (size_t m = 0; m < 40; ++m) stats[38 + m] = 0.5 * (shape[m] - shape_mean);
    return stats;
}

MfccEncoder::MfccEncoder(const Params& params) {
    sample_rate_ = int(param_int(params, "sample_rate", 16000));
    if (sample_rate_ < 8000 || sample_rate_ > 48000)
        throw Error(Errc::invalid_argument, "speaker-mfcc: sample_rate must be within 8000..48000");
    auto file = params.find("projection.file");
    if (file != params.end() && !file->second.empty()) {
        std::ifstream in(file->second);
        if (!in) throw Error(Errc::not_found, "speaker-mfcc: projection file not found: " + file->second);
        nlohmann::json j;
        try {
            in >> j;
        } catch (const std::exception& e) {
            throw Error(Errc::invalid_file, file->second + ": not valid JSON: " + e.what());
        }
        if (!j.is_object() || j.value("input_dim", 0) != int(kStatisticsSize) || !j.contains("weights") ||
            !j["weights"].is_array())
            throw Error(Errc::invalid_file, file->second + ": expected {\"input_dim\": " + std::to_string(kStatisticsSize) +
                                                ", \"output_dim\": N, \"weights\": [N*" + std::to_string(kStatisticsSize) + " numbers]}");
        dim_ = size_t(j.value("output_dim", 0));
        if (dim_ == 0 || j["weights"].size() != dim_ * kStatisticsSize)
            throw Error(Errc::invalid_file, file->second + ": weights must hold output_dim × input_dim numbers");
        for (const auto& w : j["weights"]) {
            if (!w.is_number()) throw Error(Errc::invalid_file, file->second + ": weights must be numbers");
            projection_.push_back(w.get<double>());
        }
        description_ = "speaker-mfcc 0.1.0: MFCC/log-mel statistics with a learned linear projection from " +
                       file->second + " (dim " + std::to_string(dim_) + ")";
    } else {
        long seed = param_int(params, "projection.seed", 20240601);
        long dim = param_int(params, "projection.dim", 192);
        if (dim < 8 || dim > 4096) throw Error(Errc::invalid_argument, "speaker-mfcc: projection.dim must be within 8..4096");
        dim_ = size_t(dim);
        projection_ = eval::seeded_normal(uint64_t(seed), dim_ * kStatisticsSize);
        for (double& w : projection_) w /= std::sqrt(double(dim_));
        description_ = "speaker-mfcc 0.1.0: PROXY (no trained weights) — mean/std of MFCC 1-19 and mean log-mel shape "
                       "over speech frames at " + std::to_string(sample_rate_) + " Hz, Gaussian random projection seed " +
                       std::to_string(seed) + " to " + std::to_string(dim_) + " dims";
    }
}

Status MfccEncoder::embed(const Audio& audio, std::vector<float>& embedding) noexcept {
    return guard([&] {
        std::vector<double> stats = speaker_statistics(audio, sample_rate_);
        embedding.assign(dim_, 0.f);
        for (size_t o = 0; o < dim_; ++o) {
            double acc = 0;
            for (size_t i = 0; i < kStatisticsSize; ++i) acc += projection_[o * kStatisticsSize + i] * stats[i];
            embedding[o] = float(acc);
        }
    });
}

}  // namespace troupe::speaker_mfcc
