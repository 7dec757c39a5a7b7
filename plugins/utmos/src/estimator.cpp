#include "estimator.hpp"

#include <troupe/kit/sha256.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>

#include <cmath>

namespace troupe::utmos {

UtmosEstimator::UtmosEstimator(const Params& params) {
    const kit::ParamReader p("utmos", params);
    const std::string file = p.path("model.file", true);  // SpeechMOS' utmos22_strong_step7459_v1.pt
    ssl::LoadOptions options;
    const std::string device = p.string("device", "cpu");
    try {
        options.device = c10::Device(device);
    } catch (const std::exception&) {
        p.fail("device", fmt::format("= '{}' is not a device (cpu, cuda, cuda:N)", device));
    }
    predictor_ = Predictor::load_file(file, options);
    const ssl::EncoderConfig& c = predictor_->encoder().config();
    description_ = fmt::format("utmos {} (sha256 {}; UTMOS22 strong, SSL {} layers, hidden {}, 16000 Hz)", file,
                               kit::sha256_file(file).substr(0, 16), c.num_hidden_layers, c.hidden_size);
}

QualityEstimate UtmosEstimator::estimate_or_throw(const Audio& audio) const {
    if (audio.sample_rate <= 0) throw Error(Errc::invalid_argument, "utmos: audio has no sample rate");
    if (audio.samples.empty()) throw Error(Errc::invalid_argument, "utmos: audio is empty");
    for (float s : audio.samples)
        if (!std::isfinite(s)) throw Error(Errc::invalid_argument, "utmos: audio contains NaN or infinity");
    const std::vector<float> samples = ssl::resample(audio.samples, audio.sample_rate, 16000);
    if (int64_t(samples.size()) < predictor_->encoder().config().min_samples())
        throw Error(Errc::invalid_argument, fmt::format("utmos: audio too short ({:.3f} s)", audio.seconds()));
    QualityEstimate q;
    q.score = predictor_->score(samples);
    q.method = kMethod;
    q.details["seconds"] = double(samples.size()) / 16000.0;
    return q;
}

Status UtmosEstimator::estimate(const Audio& audio, QualityEstimate& out) noexcept {
    return guard([&] { out = estimate_or_throw(audio); });
}

std::string UtmosEstimator::describe() const noexcept { return description_; }

}  // namespace troupe::utmos
