#include "transcriber.hpp"

#include <troupe/nn/file_hash.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>

namespace troupe::whisper {
namespace {

std::string param(const Params& p, const char* key, const std::string& fallback) {
    auto it = p.find(key);
    return it == p.end() ? fallback : it->second;
}

int64_t int_param(const Params& p, const char* key, int64_t fallback, int64_t min) {
    auto it = p.find(key);
    if (it == p.end() || it->second.empty()) return fallback;
    try {
        size_t used = 0;
        const long long v = std::stoll(it->second, &used);
        if (used == it->second.size() && v >= min) return v;
    } catch (const std::exception&) {
    }
    throw Error(Errc::invalid_argument, fmt::format("whisper: parameter '{}' = '{}' must be an integer >= {}", key, it->second, min));
}

}  // namespace

RecognizerOptions options_from_params(const Params& params) {
    RecognizerOptions o;
    const std::string device = param(params, "device", "cpu");
    try {
        o.load.device = c10::Device(device.empty() ? "cpu" : device);
    } catch (const std::exception&) {
        throw Error(Errc::invalid_argument, fmt::format("whisper: bad device '{}'", device));
    }
    const std::string dtype = param(params, "dtype", "float32");
    if (dtype == "float32" || dtype.empty()) o.load.dtype = at::kFloat;
    else if (dtype == "float16") o.load.dtype = at::kHalf;
    else if (dtype == "bfloat16") o.load.dtype = at::kBFloat16;
    else throw Error(Errc::invalid_argument, fmt::format("whisper: dtype '{}' (float32, float16 or bfloat16)", dtype));
    if (o.load.dtype != at::kFloat && !o.load.device.is_cuda())
        throw Error(Errc::invalid_argument, "whisper: float16/bfloat16 need a CUDA device");
    o.language = param(params, "language", "ko");
    o.task = param(params, "task", "transcribe");
    o.search.num_beams = int_param(params, "num_beams", 1, 1);
    o.search.max_new_tokens = int_param(params, "max_new_tokens", 0, 0);
    o.batch_windows = int_param(params, "batch_windows", 8, 1);
    return o;
}

WhisperTranscriber::WhisperTranscriber(const Params& params) {
    auto dir = params.find("model.dir");
    if (dir == params.end() || dir->second.empty())
        throw Error(Errc::invalid_argument, "whisper: parameter 'model.dir' (a WhisperForConditionalGeneration folder) is required");
    const RecognizerOptions options = options_from_params(params);
    recognizer_ = Recognizer::load_dir(dir->second, options);
    const ModelConfig& c = recognizer_->config();
    const std::string sha = nn::model_sha256(nn::weight_files(dir->second));
    description_ = fmt::format("whisper {} (sha256 {}; d_model {}, {}+{} layers, {} mels, vocab {}, {}, {}, {})", dir->second, sha.substr(0, 16), c.d_model,
                               c.encoder_layers, c.decoder_layers, c.num_mel_bins, c.vocab_size,
                               options.language.empty() ? "language not forced" : "language " + options.language,
                               options.task, options.search.num_beams > 1 ? fmt::format("beam {}", options.search.num_beams) : "greedy");
}

std::string WhisperTranscriber::transcribe_or_throw(const Audio& audio) const {
    if (audio.sample_rate <= 0) throw Error(Errc::invalid_argument, "whisper: audio has no sample rate");
    if (audio.samples.empty()) throw Error(Errc::invalid_argument, "whisper: audio is empty");
    for (float s : audio.samples)
        if (!std::isfinite(s)) throw Error(Errc::invalid_argument, "whisper: audio contains NaN or infinity");
    const int rate = int(recognizer_->front_end().config().sampling_rate);
    return recognizer_->transcribe(ssl::resample(audio.samples, audio.sample_rate, rate));
}

Status WhisperTranscriber::transcribe(const Audio& audio, std::string& text) noexcept {
    return guard([&] { text = transcribe_or_throw(audio); });
}

std::string WhisperTranscriber::describe() const noexcept { return description_; }

}  // namespace troupe::whisper
