#include "estimator.hpp"

#include <troupe/nn/device_param.hpp>
#include <troupe/kit/sha256.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/ssl/model_input.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>


namespace troupe::utmos {

UtmosEstimator::UtmosEstimator(const Params& params) {
    const kit::ParamReader p("utmos", params);
    const std::string file = p.path("model.file", true);  // SpeechMOS' utmos22_strong_step7459_v1.pt
    ssl::LoadOptions options;
    options.device = nn::device_param(p);
    predictor_ = Predictor::load_file(file, options);
    const ssl::EncoderConfig& c = predictor_->encoder().config();
    description_ = fmt::format("utmos {} (sha256 {}; UTMOS22 strong, SSL {} layers, hidden {}, 16000 Hz)", file,
                               kit::sha256_file(file).substr(0, 16), c.num_hidden_layers, c.hidden_size);
}

QualityEstimate UtmosEstimator::estimate_or_throw(const Audio& audio) const {
    const std::vector<float> samples = ssl::model_input(audio, 16000, "utmos", predictor_->encoder().config().min_samples());
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
