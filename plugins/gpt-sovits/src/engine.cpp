#include "engine.hpp"

#include "s1/decode_graph.hpp"

#include <troupe/audio.hpp>
#include <troupe/ssl/encoder.hpp>
#include <troupe/ssl/hubert.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace troupe::sovits {
namespace {

at::Tensor to_tensor(const std::vector<int64_t>& ids, const c10::Device& device) {
    return at::tensor(at::ArrayRef<int64_t>(ids), at::kLong).unsqueeze(0).to(device);
}

at::Tensor to_tensor(const std::vector<float>& x) {
    return at::from_blob(const_cast<float*>(x.data()), {int64_t(x.size())}, at::kFloat).clone();
}

// Upstream loads the HuBERT reference at 16 kHz and refuses it outside 3–10 s.
constexpr int64_t kHubertRate = 16000;
constexpr int64_t kMinRefSamples16k = 48000, kMaxRefSamples16k = 160000;

}  // namespace

std::string VoiceSpec::key() const {
    nlohmann::json j;
    j["ref"] = reference_audio;
    j["text"] = reference_text;
    j["extra"] = extra_references;
    if (prompt_codes) j["codes"] = *prompt_codes;
    if (prompt_phones) j["phones"] = *prompt_phones;
    return j.dump();
}

Engine::Engine() = default;
Engine::~Engine() {
    if (s1_.model) s1::DecodeGraph::release_pooled(s1_.model.get());  // its pooled S1 decode graphs (K/V, CUDA graph)
}

std::shared_ptr<Engine> Engine::load(const EngineOptions& options) {
    std::shared_ptr<Engine> e(new Engine());
    try {
        e->device_ = c10::Device(options.device);
    } catch (const std::exception&) {
        throw Error(Errc::invalid_argument, fmt::format("unknown device '{}'", options.device));
    }
    if (e->device_.is_cuda()) {
        // The conformance tolerances hold only with TF32 off (matmuls and cuDNN convolutions).
        at::globalContext().setAllowTF32CuBLAS(false);
        at::globalContext().setAllowTF32CuDNN(false);
    }
    at::ScalarType s1_dtype = at::kFloat;
    if (options.s1_dtype == "bfloat16" || options.s1_dtype == "bf16")
        s1_dtype = at::kBFloat16;
    else if (options.s1_dtype == "float16" || options.s1_dtype == "fp16")
        s1_dtype = at::kHalf;
    else if (options.s1_dtype != "float32" && options.s1_dtype != "fp32" && !options.s1_dtype.empty())
        throw Error(Errc::invalid_argument,
                    fmt::format("gpt-sovits: s1_dtype '{}' is not one of float32, bfloat16, float16", options.s1_dtype));
    e->s1_ = s1::load_s1(options.s1_path, e->device_, s1_dtype);
    e->s2_ = std::make_unique<s2::S2Model>(s2::S2Model::load(options.s2_path, e->device_));
    e->hubert_dir_ = options.hubert_dir;
    e->s1_batch_ = options.s1_batch;
    return e;
}

std::string Engine::describe() const {
    return fmt::format("GPT-SoVITS v2: S1 {} + {}", s1_.source, s2_->describe());
}

int Engine::sample_rate() const { return int(s2_->config().sampling_rate); }

std::shared_ptr<const PreparedVoice> Engine::prepare_voice(const VoiceSpec& spec) {
    const std::string key = spec.key();
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto it = voices_.find(key); it != voices_.end()) return it->second;

    if (spec.reference_audio.empty()) throw Error(Errc::invalid_argument, "GPT-SoVITS voice: no reference audio");
    auto voice = std::make_shared<PreparedVoice>();
    voice->key = key;
    const int rate = sample_rate();

    auto reference_spec = [&](const Audio& audio) {
        std::vector<float> x = audio.sample_rate == rate ? audio.samples : ssl::resample(audio.samples, audio.sample_rate, rate);
        return s2_->spectrogram(s2::prepare_reference_audio(to_tensor(x)));
    };
    const Audio main = read_wav(spec.reference_audio);
    voice->specs.push_back(reference_spec(main));
    for (const auto& path : spec.extra_references) voice->specs.push_back(reference_spec(read_wav(path)));
    voice->ge = s2_->mean_style(voice->specs);

    if (spec.prompt_phones) {
        voice->prompt_phones = *spec.prompt_phones;
    } else if (!spec.reference_text.empty()) {
        const text::KoreanStages stages = frontend_.prepare_prompt(spec.reference_text);
        voice->prompt_phones.assign(stages.ids.begin(), stages.ids.end());
    }
    if (!voice->prompt_phones.empty()) {
        const int64_t vocab = s1_.config.phoneme_vocab_size;
        for (int64_t id : voice->prompt_phones)
            if (id < 0 || id >= vocab)
                throw Error(Errc::invalid_argument, fmt::format("prompt phone id {} outside [0, {})", id, vocab));
        if (spec.prompt_codes) {
            if (spec.prompt_codes->empty()) throw Error(Errc::invalid_argument, "prompt semantic codes are empty");
            for (int64_t c : *spec.prompt_codes)
                if (c < 0 || c >= s2_->config().codebook_size)
                    throw Error(Errc::invalid_argument,
                                fmt::format("prompt semantic code {} outside [0, {})", c, s2_->config().codebook_size));
            voice->prompt_codes = to_tensor(*spec.prompt_codes, device_);
        } else {
            if (hubert_dir_.empty())
                throw Error(Errc::invalid_argument,
                            "GPT-SoVITS voice: a reference transcript needs HuBERT (model.hubert / --hubert) or prompt codes");
            if (!hubert_) {
                ssl::LoadOptions lo;
                lo.device = device_;
                auto enc = std::make_unique<ssl::Encoder>(ssl::Encoder::load_dir(hubert_dir_, lo));
                if (enc->config().hidden_size != s2_->config().ssl_dim)
                    throw Error(Errc::invalid_argument,
                                fmt::format("{}: HuBERT width {} does not match the S2 model's SSL width {}", hubert_dir_,
                                            enc->config().hidden_size, s2_->config().ssl_dim));
                hubert_ = std::move(enc);
            }
            std::vector<float> wav16 = main.sample_rate == kHubertRate
                                           ? main.samples
                                           : ssl::resample(main.samples, main.sample_rate, int(kHubertRate));
            const int64_t n = int64_t(wav16.size());
            if (n < kMinRefSamples16k || n > kMaxRefSamples16k)
                throw Error(Errc::invalid_argument,
                            fmt::format("{}: reference audio is {:.2f} s; GPT-SoVITS needs 3–10 s", spec.reference_audio,
                                        double(n) / double(kHubertRate)));
            c10::NoGradGuard no_grad;
            at::Tensor ssl = ssl::hubert_features(*hubert_, wav16).transpose(1, 2).to(at::kFloat);
            at::Tensor codes = s2_->extract_latent(ssl);  // (1, n_q, T)
            voice->prompt_codes = codes.select(1, 0).contiguous();  // (1, T)
        }
    }
    voices_[key] = voice;
    return voice;
}

at::Tensor Engine::text_row(const PreparedVoice& voice, const std::vector<int64_t>& phones) const {
    if (phones.empty()) throw Error(Errc::invalid_argument, "GPT-SoVITS: empty target phone sequence");
    const int64_t vocab = s1_.config.phoneme_vocab_size;
    for (int64_t id : phones)
        if (id < 0 || id >= vocab) throw Error(Errc::invalid_argument, fmt::format("target phone id {} outside [0, {})", id, vocab));
    std::vector<int64_t> all = voice.prompt_phones;
    all.insert(all.end(), phones.begin(), phones.end());
    return to_tensor(all, device_);
}

s1::DecodeOptions Engine::decode_options(const SynthOptions& options) const {
    s1::DecodeOptions o;
    o.sampling.top_k = options.top_k;
    o.sampling.top_p = options.top_p;
    o.sampling.temperature = options.temperature;
    o.sampling.repetition_penalty = options.repetition_penalty;
    o.early_stop_num = s1_.config.early_stop_num();
    return o;
}

s1::DecodeResult Engine::decode_tokens(const PreparedVoice& voice, const std::vector<int64_t>& phones,
                                       const SynthOptions& options, uint64_t seed, std::function<bool(int64_t)> on_token) {
    const at::Tensor row = text_row(voice, phones);
    s1::DecodeOptions o = decode_options(options);
    o.noise = [noise = s1::seeded_cpu_noise(seed)](int64_t, const at::Tensor& probs) { return noise(probs); };
    o.on_token = std::move(on_token);
    at::Tensor prompt = voice.prompt_phones.empty() ? at::Tensor() : voice.prompt_codes;
    return s1::infer_panel(*s1_.model, row, at::Tensor(), prompt, o);
}

std::vector<s1::BatchRowResult> Engine::decode_batch(const PreparedVoice& voice,
                                                     const std::vector<std::vector<int64_t>>& segments,
                                                     const SynthOptions& options) {
    std::vector<at::Tensor> rows;
    for (const auto& phones : segments) rows.push_back(text_row(voice, phones));
    s1::DecodeOptions o = decode_options(options);
    // Row i draws from its own generator, seeded as the unbatched decode of segment i is.
    std::vector<std::function<at::Tensor(const at::Tensor&)>> noise;
    for (size_t i = 0; i < segments.size(); ++i) noise.push_back(s1::seeded_cpu_noise(options.seed + i));
    o.row_noise = [noise](int64_t row, int64_t, const at::Tensor& probs) { return noise[size_t(row)](probs); };
    return s1::infer_panel_batch(*s1_.model, rows, {}, voice.prompt_codes, o);
}

SynthSegment Engine::run_segment(const PreparedVoice& voice, const std::vector<int64_t>& phones,
                                 const SynthOptions& options, uint64_t seed, const Streaming* streaming,
                                 const s1::BatchRowResult* decoded) {
    SynthSegment seg;
    seg.phones = phones;
    s2::DecodeOptions d;
    d.noise_scale = options.noise_scale;
    d.speed = options.speed;
    d.seed = seed;
    std::unique_ptr<s2::StreamDecoder> stream;
    if (streaming) {
        // Pieces are clipped to [−1, 1] (the one-shot path normalises by the peak, unknown here).
        auto clipped = [fn = streaming->on_audio](const float* p, size_t n) {
            std::vector<float> x(p, p + n);
            for (float& v : x) v = std::clamp(v, -1.0f, 1.0f);
            return !fn || fn(x.data(), x.size());
        };
        stream = std::make_unique<s2::StreamDecoder>(*s2_, to_tensor(phones, device_), voice.ge, d, streaming->options,
                                                     clipped);
    }
    std::function<bool(int64_t)> on_token;
    if (stream) on_token = [&stream](int64_t token) { return stream->push(token); };
    if (decoded) {
        seg.stop = decoded->stop;
        seg.tokens = decoded->kept;
    } else {
        const s1::DecodeResult r = decode_tokens(voice, phones, options, seed, on_token);
        seg.stop = r.stop;
        seg.tokens = r.kept;
    }
    if (!seg.tokens.defined() || seg.tokens.numel() == 0)
        throw Error(Errc::runtime, "GPT-SoVITS: S1 generated no semantic tokens for a segment");
    if (stream) {
        if (!stream->finish()) throw Error(Errc::cancelled, "GPT-SoVITS: streaming stopped by the receiver");
        seg.audio = to_tensor(stream->audio()).clamp(-1.0, 1.0);
        return seg;
    }
    const s2::DecodeResult out = s2_->decode(seg.tokens.unsqueeze(0), to_tensor(phones, device_), voice.ge, d);
    at::Tensor audio = out.audio.select(0, 0).select(0, 0).to(at::kCPU, at::kFloat).contiguous();
    const double peak = audio.abs().max().item<double>();
    if (peak > 1.0) audio = audio / peak;
    seg.audio = audio;
    return seg;
}

namespace {
constexpr double kMinSpeed = 0.25, kMaxSpeed = 4.0;
}  // namespace

SynthResult Engine::synthesize_phones(const PreparedVoice& voice, const std::vector<std::vector<int64_t>>& segments,
                                      const SynthOptions& options, const Streaming* streaming) {
    if (segments.empty()) throw Error(Errc::invalid_argument, "GPT-SoVITS: nothing to synthesise");
    // Ranges (docs/cli.md "Limits"): the frame count is F / speed and the pause is rate × seconds,
    // so an unbounded speed or pause is an unbounded allocation.
    if (!(options.speed >= kMinSpeed && options.speed <= kMaxSpeed))
        throw Error(Errc::invalid_argument,
                    fmt::format("GPT-SoVITS: speed must be between {} and {} (got {})", kMinSpeed, kMaxSpeed, options.speed));
    if (!(options.noise_scale >= 0 && options.noise_scale <= 2))
        throw Error(Errc::invalid_argument, fmt::format("GPT-SoVITS: noise scale must be between 0 and 2 (got {})", options.noise_scale));
    if (!(options.pause_seconds >= 0 && options.pause_seconds <= 10))
        throw Error(Errc::invalid_argument, fmt::format("GPT-SoVITS: pause must be between 0 and 10 s (got {})", options.pause_seconds));
    std::lock_guard<std::mutex> lock(mutex_);
    SynthResult result;
    result.sample_rate = sample_rate();
    const size_t pause = size_t(double(result.sample_rate) * options.pause_seconds);
    // One S1 batch for all segments (s1_batch; upstream's parallel_infer), else one S1 decode each.
    std::vector<s1::BatchRowResult> decoded;
    if (s1_batch_ && !streaming && segments.size() > 1 && !voice.prompt_phones.empty())
        decoded = decode_batch(voice, segments, options);
    for (size_t i = 0; i < segments.size(); ++i) {
        SynthSegment seg = run_segment(voice, segments[i], options, options.seed + i, streaming,
                                       decoded.empty() ? nullptr : &decoded[i]);
        const float* p = seg.audio.data_ptr<float>();
        result.samples.insert(result.samples.end(), p, p + seg.audio.numel());
        result.samples.insert(result.samples.end(), pause, 0.0f);
        if (streaming && streaming->on_audio && pause > 0) {
            const std::vector<float> silence(pause, 0.0f);
            if (!streaming->on_audio(silence.data(), silence.size()))
                throw Error(Errc::cancelled, "GPT-SoVITS: streaming stopped by the receiver");
        }
        result.segments.push_back(std::move(seg));
    }
    return result;
}

SynthResult Engine::synthesize(const PreparedVoice& voice, const std::string& text, const SynthOptions& options,
                               const Streaming* streaming) {
    std::vector<std::vector<int64_t>> segments;
    for (const auto& stages : frontend_.prepare_target(text, options.cut))
        if (!stages.ids.empty()) segments.emplace_back(stages.ids.begin(), stages.ids.end());
    if (segments.empty()) throw Error(Errc::invalid_argument, "GPT-SoVITS: the text has nothing to speak");
    return synthesize_phones(voice, segments, options, streaming);
}

// ---- id files ----------------------------------------------------------------------------------

namespace {

constexpr std::streamoff kMaxIdFileBytes = 1 << 20;  // id lists are a few thousand numbers

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, fmt::format("{}: cannot open", path));
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    if (size > kMaxIdFileBytes)
        throw Error(Errc::invalid_file, fmt::format("{}: {} bytes; an id file is at most {} bytes", path, size, kMaxIdFileBytes));
    in.seekg(0);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<int64_t> parse_ids(const std::string& text, const std::string& path) {
    std::vector<int64_t> out;
    std::string tok;
    auto flush = [&] {
        if (tok.empty()) return;
        try {
            size_t pos = 0;
            const long long v = std::stoll(tok, &pos);
            if (pos != tok.size()) throw std::invalid_argument("id");
            out.push_back(v);
        } catch (const std::exception&) {
            // The file's content is not echoed: it may be any file the user pointed at by mistake.
            throw Error(Errc::invalid_file,
                        fmt::format("{}: item {} is not an integer id (expected numbers separated by spaces, "
                                    "commas or newlines, or a JSON list)",
                                    path, out.size() + 1));
        }
        tok.clear();
    };
    for (char c : text) {
        if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '[' || c == ']') flush();
        else tok += c;
    }
    flush();
    return out;
}

std::vector<int64_t> json_ids(const nlohmann::json& j, const std::string& path, const char* what) {
    if (!j.is_array()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' is not a list of ids", path, what));
    std::vector<int64_t> out;
    for (const auto& v : j) {
        if (!v.is_number_integer()) throw Error(Errc::invalid_file, fmt::format("{}: '{}' holds a non-integer", path, what));
        out.push_back(v.get<int64_t>());
    }
    return out;
}

}  // namespace

std::vector<int64_t> read_id_list(const std::string& path) {
    const std::string text = read_file(path);
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '[') {
        try {
            return json_ids(nlohmann::json::parse(text), path, "ids");
        } catch (const nlohmann::json::exception& e) {
            throw Error(Errc::invalid_file, fmt::format("{}: invalid JSON ({})", path, e.what()));
        }
    }
    return parse_ids(text, path);
}

PhoneIdFile read_phone_id_file(const std::string& path) {
    const std::string text = read_file(path);
    PhoneIdFile out;
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') {
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(text);
        } catch (const nlohmann::json::exception& e) {
            throw Error(Errc::invalid_file, fmt::format("{}: invalid JSON ({})", path, e.what()));
        }
        if (!j.contains("target")) throw Error(Errc::invalid_file, fmt::format("{}: no \"target\" phone ids", path));
        out.target = json_ids(j["target"], path, "target");
        if (j.contains("prompt") && !j["prompt"].is_null()) out.prompt = json_ids(j["prompt"], path, "prompt");
    } else {
        std::istringstream lines(text);
        std::string prompt_line, target_line;
        std::getline(lines, prompt_line);
        if (!std::getline(lines, target_line))
            throw Error(Errc::invalid_file, fmt::format("{}: expected two lines (prompt phone ids, target phone ids)", path));
        out.prompt = parse_ids(prompt_line, path);
        out.target = parse_ids(target_line, path);
    }
    if (out.target.empty()) throw Error(Errc::invalid_file, fmt::format("{}: no target phone ids", path));
    return out;
}

}  // namespace troupe::sovits
