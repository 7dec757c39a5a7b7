#include "transcriber.hpp"

#include <troupe/ssl/model_input.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace troupe::w2v {

Wav2Vec2CtcTranscriber::Wav2Vec2CtcTranscriber(const Params& params) {
    auto dir = params.find("model.dir");
    if (dir == params.end() || dir->second.empty())
        throw Error(Errc::invalid_argument, "wav2vec2-ctc: parameter 'model.dir' (a Wav2Vec2ForCTC folder) is required");
    ssl::LoadOptions options;
    auto device = params.find("device");
    if (device != params.end() && !device->second.empty()) {
        try {
            options.device = c10::Device(device->second);
        } catch (const std::exception&) {
            throw Error(Errc::invalid_argument, fmt::format("wav2vec2-ctc: bad device '{}'", device->second));
        }
    }
    auto chunk = params.find("max_chunk_seconds");
    if (chunk != params.end() && !chunk->second.empty()) {
        try {
            size_t used = 0;
            max_chunk_seconds_ = std::stod(chunk->second, &used);
            if (used != chunk->second.size()) throw std::invalid_argument("trailing characters");
        } catch (const std::exception&) {
            max_chunk_seconds_ = -1;
        }
        if (!(max_chunk_seconds_ >= 1.0))
            throw Error(Errc::invalid_argument,
                        fmt::format("wav2vec2-ctc: max_chunk_seconds '{}' must be a number >= 1", chunk->second));
    }
    model_ = std::make_unique<CtcModel>(CtcModel::load_dir(dir->second, options));
    const ssl::EncoderConfig& c = model_->encoder().config();
    description_ = fmt::format("wav2vec2-ctc {} ({}, {} layers, hidden {}, {} symbols, {} Hz)", dir->second, c.model_type,
                               c.num_hidden_layers, c.hidden_size, model_->vocab().size(),
                               model_->encoder().feature_extractor().sampling_rate);
}

std::string Wav2Vec2CtcTranscriber::transcribe_or_throw(const Audio& audio) const {
    const int rate = model_->encoder().feature_extractor().sampling_rate;
    std::vector<float> samples = ssl::model_input(audio, rate, "wav2vec2-ctc", model_->encoder().config().min_samples());
    const int64_t total = int64_t(samples.size());

    const int64_t max_chunk = int64_t(max_chunk_seconds_ * rate);
    const int64_t chunks = (total + max_chunk - 1) / max_chunk;
    const int64_t chunk_len = (total + chunks - 1) / chunks;
    c10::NoGradGuard no_grad;
    at::Tensor wave = at::from_blob(samples.data(), {total}, at::kFloat);
    std::string text;
    for (int64_t begin = 0; begin < total; begin += chunk_len) {
        const int64_t len = std::min(chunk_len, total - begin);
        if (len < model_->encoder().config().min_samples()) break;  // a sliver at the end: nothing to decode
        const std::string piece = model_->transcribe(wave.narrow(0, begin, len)).text_stripped;
        if (piece.empty()) continue;
        if (!text.empty()) text += ' ';
        text += piece;
    }
    return text;
}

Status Wav2Vec2CtcTranscriber::transcribe(const Audio& audio, std::string& text) noexcept {
    return guard([&] { text = transcribe_or_throw(audio); });
}

std::string Wav2Vec2CtcTranscriber::describe() const noexcept { return description_; }

}  // namespace troupe::w2v
