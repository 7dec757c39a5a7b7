#include "recognizer.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace troupe::whisper {
namespace {

std::string require(const std::string& dir, const char* file) {
    const std::string path = dir + "/" + file;
    if (!std::filesystem::exists(path))
        throw Error(Errc::not_found, fmt::format("whisper: {} is missing (a Hugging Face Whisper folder needs it)", path));
    return path;
}

std::string trim_ascii(const std::string& s) {
    const char* ws = " \t\n\r\f\v";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos) return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

Recognizer::Recognizer(const std::string& dir, const RecognizerOptions& options)
    : options_(options),
      settings_(GenerationSettings::read(require(dir, "generation_config.json"), require(dir, "config.json"))),
      front_end_(FrontEndConfig::read(require(dir, "preprocessor_config.json"))),
      tokenizer_(Tokenizer::load_dir(dir, settings_.eos_token_id)) {
    model_ = WhisperForConditionalGeneration::load_dir(dir, options.load);
    const ModelConfig& c = model_->config();
    if (front_end_.config().feature_size != c.num_mel_bins)
        throw Error(Errc::invalid_file, fmt::format("whisper: {}/preprocessor_config.json has {} mel bins, config.json {}", dir,
                                                    front_end_.config().feature_size, c.num_mel_bins));
    if (front_end_.config().nb_max_frames != 2 * c.max_source_positions)
        throw Error(Errc::invalid_file, fmt::format("whisper: {}: {} frames per window, but the encoder takes {}", dir,
                                                    front_end_.config().nb_max_frames, 2 * c.max_source_positions));
    if (settings_.eos_token_id >= c.vocab_size || settings_.decoder_start_token_id >= c.vocab_size)
        throw Error(Errc::invalid_file, fmt::format("whisper: {}: special token ids beyond vocab_size {}", dir, c.vocab_size));
    prompt_ = settings_.prompt(options.language, options.task);
}

std::unique_ptr<Recognizer> Recognizer::load_dir(const std::string& dir, const RecognizerOptions& options) {
    if (!std::filesystem::is_directory(dir)) throw Error(Errc::not_found, fmt::format("whisper: model folder {} not found", dir));
    return std::unique_ptr<Recognizer>(new Recognizer(dir, options));
}

std::vector<WindowResult> Recognizer::decode_features(const at::Tensor& features) const {
    c10::NoGradGuard no_grad;
    const Searcher searcher(*model_, settings_);
    const at::Tensor enc = model_->encode(features);
    std::vector<WindowResult> out;
    for (const Hypothesis& h : searcher.run(enc, prompt_, options_.search)) {
        WindowResult r;
        r.tokens = h.tokens;
        r.ended = h.ended;
        r.text = tokenizer_.decode(h.tokens);
        out.push_back(std::move(r));
    }
    return out;
}

std::vector<WindowResult> Recognizer::transcribe_windows(const std::vector<float>& samples) const {
    c10::NoGradGuard no_grad;
    const int64_t n = front_end_.config().n_samples, total = int64_t(samples.size());
    std::vector<at::Tensor> windows;
    const at::Tensor wave = at::from_blob(const_cast<float*>(samples.data()), {total}, at::kFloat);
    for (int64_t start = 0; start < total; start += n) {
        at::Tensor w = wave.narrow(0, start, std::min(n, total - start));
        windows.push_back(at::constant_pad_nd(w, {0, n - w.size(0)}, 0.0));
    }
    if (windows.empty()) windows.push_back(at::zeros({n}, at::kFloat));
    std::vector<WindowResult> out;
    const int64_t batch = std::max<int64_t>(1, options_.batch_windows);
    for (size_t i = 0; i < windows.size(); i += size_t(batch)) {
        const size_t j = std::min(windows.size(), i + size_t(batch));
        const at::Tensor group = at::stack(std::vector<at::Tensor>(windows.begin() + long(i), windows.begin() + long(j)));
        for (WindowResult& r : decode_features(front_end_(group.to(model_->device())))) out.push_back(std::move(r));
    }
    return out;
}

std::string Recognizer::transcribe(const std::vector<float>& samples) const {
    std::string text;
    for (const WindowResult& r : transcribe_windows(samples)) {
        const std::string t = trim_ascii(r.text);
        if (t.empty()) continue;
        if (!text.empty()) text += ' ';
        text += t;
    }
    return text;
}

}  // namespace troupe::whisper
