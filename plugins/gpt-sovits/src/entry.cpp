// The gpt-sovits plugin: a troupe::SpeechBackend over the GPT-SoVITS v2 engine. A voice is the
// request's reference audio + transcript (+ extra references averaged into the style); it is
// prepared once (prompt codes, phones, spectrograms, style vector) and cached by the engine.
#include "engine.hpp"

#include <troupe/kit/module.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/plugin.hpp>

#include <fmt/format.h>

namespace troupe::sovits {
namespace {

class GptSovitsBackend final : public SpeechBackend {
public:
    explicit GptSovitsBackend(const Params& params) : params_(params) {
        const kit::ParamReader p("gpt-sovits", params);
        if (!p.has("model.s1") || !p.has("model.s2"))
            throw Error(Errc::invalid_argument, "gpt-sovits: set model.s1 (.ckpt) and model.s2 (.pth)");
        EngineOptions o;
        o.s1_path = p.path("model.s1");
        o.s2_path = p.path("model.s2");
        o.hubert_dir = p.path("model.hubert");
        o.device = p.string("device", o.device);
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
            const kit::ParamReader p("gpt-sovits", {&request.voice.params, &params_});  // the voice's first
            VoiceSpec spec;
            spec.reference_audio = request.voice.reference_audio;
            spec.reference_text = request.voice.reference_text;
            spec.extra_references = request.voice.extra_references;
            // Prompt codes come from a file named by a path key: `prompt_codes_file` in [speech.voice]
            // (resolved and confined to the character folder by the host) or `voice.prompt_codes_file`
            // in troupe.toml / [defaults]. The old key was no path key, so nothing checked it.
            for (const char* old : {"prompt_codes", "voice.prompt_codes"})
                if (p.has(old)) p.fail(old, fmt::format("is now '{}_file' (a path key, checked like every path)", old));
            if (const std::string* codes = request.voice.params.count("prompt_codes_file")
                                               ? &request.voice.params.at("prompt_codes_file") : nullptr;
                codes && !codes->empty())
                spec.prompt_codes = read_id_list(*codes);
            else if (p.has("voice.prompt_codes_file"))
                spec.prompt_codes = read_id_list(p.path("voice.prompt_codes_file"));
            auto voice = engine_->prepare_voice(spec);

            SynthOptions so;
            so.top_k = p.integer("top_k", 15, 1, 100000);
            so.top_p = p.number("top_p", 1.0, 0.0, 1.0);
            so.temperature = p.number("temperature", 1.0, 0.0, 100.0);
            so.repetition_penalty = p.number("repetition_penalty", 1.35, 0.0, 100.0);
            so.noise_scale = p.number("noise_scale", 0.5, 0.0, 2.0);  // ranges: docs/cli.md "Limits"
            so.speed = p.number("speed", 1.0, 0.25, 4.0);
            so.pause_seconds = p.number("pause", 0.3, 0.0, 10.0);
            if (p.has("split")) so.cut = text::parse_cut_method(p.string("split"));
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

}  // namespace
}  // namespace troupe::sovits

using GptSovitsModule = troupe::kit::SimpleModule<troupe::sovits::GptSovitsBackend, troupe::PluginKind::speech_backend>;
TROUPE_PLUGIN_DEFINE(GptSovitsModule)
