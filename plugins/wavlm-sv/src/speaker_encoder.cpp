#include "speaker_encoder.hpp"

#include <troupe/nn/file_hash.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>

#include <cmath>

namespace troupe::wavlm {

WavlmSpeakerEncoder::WavlmSpeakerEncoder(const Params& params) {
    const kit::ParamReader p("wavlm-sv", params);
    const std::string dir = p.path("model.dir", true);
    ssl::LoadOptions options;
    const std::string device = p.string("device", "cpu");
    try {
        options.device = c10::Device(device);
    } catch (const std::exception&) {
        p.fail("device", fmt::format("= '{}' is not a device (cpu, cuda, cuda:N)", device));
    }
    verifier_ = SpeakerVerifier::load_dir(dir, options);
    const ssl::EncoderConfig& c = verifier_->encoder().config();
    const std::string sha = nn::model_sha256(nn::weight_files(dir));
    description_ = fmt::format("wavlm-sv {} (sha256 {}; {}, {} layers, hidden {}, {} Hz)", dir, sha.substr(0, 16), c.model_type, c.num_hidden_layers,
                               c.hidden_size, verifier_->encoder().feature_extractor().sampling_rate);
}

std::vector<float> WavlmSpeakerEncoder::embed_or_throw(const Audio& audio) const {
    if (audio.sample_rate <= 0) throw Error(Errc::invalid_argument, "wavlm-sv: audio has no sample rate");
    if (audio.samples.empty()) throw Error(Errc::invalid_argument, "wavlm-sv: audio is empty");
    for (float s : audio.samples)
        if (!std::isfinite(s)) throw Error(Errc::invalid_argument, "wavlm-sv: audio contains NaN or infinity");
    const int rate = verifier_->encoder().feature_extractor().sampling_rate;
    const std::vector<float> samples = ssl::resample(audio.samples, audio.sample_rate, rate);
    if (int64_t(samples.size()) < verifier_->encoder().config().min_samples())
        throw Error(Errc::invalid_argument, fmt::format("wavlm-sv: audio too short ({:.3f} s)", audio.seconds()));
    return verifier_->embed(samples);
}

Status WavlmSpeakerEncoder::embed(const Audio& audio, std::vector<float>& embedding) noexcept {
    return guard([&] { embedding = embed_or_throw(audio); });
}

std::string WavlmSpeakerEncoder::describe() const noexcept { return description_; }

}  // namespace troupe::wavlm
