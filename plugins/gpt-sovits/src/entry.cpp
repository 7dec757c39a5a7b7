// The gpt-sovits plugin: a troupe::SpeechBackend over the GPT-SoVITS v2 engine. A voice is the
// request's reference audio + transcript (+ extra references averaged into the style); it is
// prepared once (prompt codes, phones, spectrograms, style vector) and cached by the engine.
#include "engine.hpp"

#include <troupe/plugin.hpp>

#include <fmt/format.h>

#include <cstdlib>

namespace troupe::sovits {
namespace {

const std::string* lookup(const Params& a, const std::string& key) {
    if (auto it = a.find(key); it != a.end() && !it->second.empty()) return &it->second;
    return nullptr;
}

const std::string* lookup(const Params& a, const Params& b, const std::string& key) {
    if (auto it = a.find(key); it != a.end() && !it->second.empty()) return &it->second;
    if (auto it = b.find(key); it != b.end() && !it->second.empty()) return &it->second;
    return nullptr;
}

double number(const Params& voice, const Params& base, const std::string& key, double fallback) {
    const std::string* v = lookup(voice, base, key);
    if (!v) return fallback;
    char* end = nullptr;
    const double x = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0')
        throw Error(Errc::invalid_argument, fmt::format("gpt-sovits: parameter '{}' = '{}' is not a number", key, *v));
    return x;
}

class GptSovitsBackend final : public SpeechBackend {
public:
    explicit GptSovitsBackend(const Params& params) : params_(params) {
        EngineOptions o;
        const std::string* s1 = lookup(params, "model.s1");
        const std::string* s2 = lookup(params, "model.s2");
        if (!s1 || !s2) throw Error(Errc::invalid_argument, "gpt-sovits: set model.s1 (.ckpt) and model.s2 (.pth)");
        o.s1_path = *s1;
        o.s2_path = *s2;
        if (const std::string* h = lookup(params, "model.hubert")) o.hubert_dir = *h;
        if (const std::string* d = lookup(params, "device")) o.device = *d;
        engine_ = Engine::load(o);
    }

    std::string describe() const noexcept override {
        try {
            return engine_->describe();
        } catch (...) {
            return "gpt-sovits";
        }
    }

    Status synthesize(const SpeechRequest& request, Audio& out) noexcept override {
        return guard([&] {
            if (!request.language.empty() && request.language != "ko")
                throw Error(Errc::unsupported,
                            fmt::format("gpt-sovits: language '{}' (only Korean, \"ko\", is supported)", request.language));
            if (request.voice.reference_audio.empty())
                throw Error(Errc::invalid_argument, "gpt-sovits: the voice has no reference audio");
            const Params& vp = request.voice.params;
            VoiceSpec spec;
            spec.reference_audio = request.voice.reference_audio;
            spec.reference_text = request.voice.reference_text;
            spec.extra_references = request.voice.extra_references;
            if (const std::string* codes = lookup(vp, params_, "voice.prompt_codes")) spec.prompt_codes = read_id_list(*codes);
            auto voice = engine_->prepare_voice(spec);

            SynthOptions so;
            so.top_k = int64_t(number(vp, params_, "top_k", 15));
            if (*so.top_k < 1) throw Error(Errc::invalid_argument, "gpt-sovits: top_k must be ≥ 1");
            so.top_p = number(vp, params_, "top_p", 1.0);
            so.temperature = number(vp, params_, "temperature", 1.0);
            so.repetition_penalty = number(vp, params_, "repetition_penalty", 1.35);
            so.noise_scale = number(vp, params_, "noise_scale", 0.5);
            so.speed = number(vp, params_, "speed", 1.0);
            so.pause_seconds = number(vp, params_, "pause", 0.3);
            if (const std::string* s = lookup(vp, params_, "split")) so.cut = text::parse_cut_method(*s);
            so.seed = request.seed;
            if (plugin_cancel_requested()) throw Error(Errc::cancelled, "cancelled");
            SynthResult r = engine_->synthesize(*voice, request.text, so);
            out.sample_rate = r.sample_rate;
            out.samples = std::move(r.samples);
        });
    }

private:
    Params params_;
    std::shared_ptr<Engine> engine_;
};

class GptSovitsModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::speech_backend; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<GptSovitsBackend>(params); });
    }
};

}  // namespace
}  // namespace troupe::sovits

TROUPE_PLUGIN_DEFINE(troupe::sovits::GptSovitsModule)
