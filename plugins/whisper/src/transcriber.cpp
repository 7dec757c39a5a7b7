#include "transcriber.hpp"

#include <troupe/nn/device_param.hpp>
#include <troupe/nn/file_hash.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/ssl/model_input.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>


namespace troupe::whisper {

RecognizerOptions options_from_params(const Params& params) {
    const kit::ParamReader p("whisper", params);
    RecognizerOptions o;
    o.load.device = nn::device_param(p);
    const std::string dtype = p.string("dtype", "float32");
    if (dtype == "float32") o.load.dtype = at::kFloat;
    else if (dtype == "float16") o.load.dtype = at::kHalf;
    else if (dtype == "bfloat16") o.load.dtype = at::kBFloat16;
    else p.fail("dtype", fmt::format("= '{}' is not float32, float16 or bfloat16", dtype));
    if (o.load.dtype != at::kFloat && !o.load.device.is_cuda()) p.fail("dtype", "float16/bfloat16 need a CUDA device");
    const auto language = params.find("language");  // "" is a value here: the language is not forced
    o.language = language == params.end() ? std::string("ko") : language->second;
    o.task = p.string("task", "transcribe");
    o.search.num_beams = p.integer("num_beams", 1, 1, 64);
    o.search.max_new_tokens = p.integer("max_new_tokens", 0, 0, 100000);
    o.batch_windows = p.integer("batch_windows", 8, 1, 4096);
    return o;
}

WhisperTranscriber::WhisperTranscriber(const Params& params) {
    const std::string dir = kit::ParamReader("whisper", params).path("model.dir", true);
    const RecognizerOptions options = options_from_params(params);
    recognizer_ = Recognizer::load_dir(dir, options);
    const ModelConfig& c = recognizer_->config();
    const std::string sha = nn::model_sha256(nn::weight_files(dir));
    description_ = fmt::format("whisper {} (sha256 {}; d_model {}, {}+{} layers, {} mels, vocab {}, {}, {}, {})", dir, sha.substr(0, 16), c.d_model,
                               c.encoder_layers, c.decoder_layers, c.num_mel_bins, c.vocab_size,
                               options.language.empty() ? "language not forced" : "language " + options.language,
                               options.task, options.search.num_beams > 1 ? fmt::format("beam {}", options.search.num_beams) : "greedy");
}

std::string WhisperTranscriber::transcribe_or_throw(const Audio& audio) const {
    const int rate = int(recognizer_->front_end().config().sampling_rate);
    return recognizer_->transcribe(ssl::model_input(audio, rate, "whisper"));
}

Status WhisperTranscriber::transcribe(const Audio& audio, std::string& text) noexcept {
    return guard([&] { text = transcribe_or_throw(audio); });
}

std::string WhisperTranscriber::describe() const noexcept { return description_; }

}  // namespace troupe::whisper
