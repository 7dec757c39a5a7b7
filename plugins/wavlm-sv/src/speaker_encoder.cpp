#include "speaker_encoder.hpp"

#include <troupe/nn/device_param.hpp>
#include <troupe/nn/file_hash.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/ssl/model_input.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>


namespace troupe::wavlm {

WavlmSpeakerEncoder::WavlmSpeakerEncoder(const Params& params) {
    const kit::ParamReader p("wavlm-sv", params);
    const std::string dir = p.path("model.dir", true);
    ssl::LoadOptions options;
    options.device = nn::device_param(p);
    verifier_ = SpeakerVerifier::load_dir(dir, options);
    const ssl::EncoderConfig& c = verifier_->encoder().config();
    const std::string sha = nn::model_sha256(nn::weight_files(dir));
    description_ = fmt::format("wavlm-sv {} (sha256 {}; {}, {} layers, hidden {}, {} Hz)", dir, sha.substr(0, 16), c.model_type, c.num_hidden_layers,
                               c.hidden_size, verifier_->encoder().feature_extractor().sampling_rate);
}

std::vector<float> WavlmSpeakerEncoder::embed_or_throw(const Audio& audio) const {
    const int rate = verifier_->encoder().feature_extractor().sampling_rate;
    return verifier_->embed(ssl::model_input(audio, rate, "wavlm-sv", verifier_->encoder().config().min_samples()));
}

Status WavlmSpeakerEncoder::embed(const Audio& audio, std::vector<float>& embedding) noexcept {
    return guard([&] { embedding = embed_or_throw(audio); });
}

std::string WavlmSpeakerEncoder::describe() const noexcept { return description_; }

}  // namespace troupe::wavlm
