// The gpt-sovits plugin: a troupe::SpeechBackend over the GPT-SoVITS v2 engine. A voice is the
// request's reference audio + transcript (+ extra references averaged into the style); it is
// prepared once (prompt codes, phones, spectrograms, style vector) and cached by the engine.
// A character's voice may name its own weights ([speech.voice] s1_file / s2_file, as `troupe voice
// train` writes them; resolved against the character folder by the host): one engine per weight pair,
// loaded on first use. The plugin's model.s1 / model.s2 are then only the default.
#include "engine.hpp"

#include <troupe/kit/module.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/plugin.hpp>

#include <fmt/format.h>

#include <map>
#include <mutex>

namespace troupe::sovits {
namespace {

class GptSovitsBackend final : public SpeechBackend, public StreamingSpeechBackend {
public:
    explicit GptSovitsBackend(const Params& params) : params_(params) {
        const kit::ParamReader p("gpt-sovits", params);
        if (p.has("model.s1") && p.has("model.s2")) engine_ = load(p.path("model.s1"), p.path("model.s2"));
    }

    std::string describe() const noexcept override {
        try {
            return engine_ ? engine_->describe() : "gpt-sovits (weights from each voice's s1_file / s2_file)";
        } catch (...) {
            return "gpt-sovits";
        }
    }

    Status synthesize(const SpeechRequest& request, Audio& out) noexcept override {
        return guard([&] { run(request, out, nullptr, nullptr); });
    }

    /// S2 decodes in chunks while S1 runs (s2/stream.hpp); chunk sizes from stream_* parameters.
    Status synthesize_stream(const SpeechRequest& request, Audio& out, AudioSink sink, void* sink_user) noexcept override {
        return guard([&] { run(request, out, sink, sink_user); });
    }

private:
    void run(const SpeechRequest& request, Audio& out, AudioSink sink, void* sink_user) {
        if (!request.language.empty() && request.language != "ko")
            throw Error(Errc::unsupported,
                        fmt::format("gpt-sovits: language '{}' (only Korean, \"ko\", is supported)", request.language));
        if (request.voice.reference_audio.empty())
            throw Error(Errc::invalid_argument, "gpt-sovits: the voice has no reference audio");
        const kit::ParamReader p("gpt-sovits", {&request.voice.params, &params_});  // the voice's first
        const std::shared_ptr<Engine> engine = engine_for(request.voice.params);
        auto voice = engine->prepare_voice(voice_spec(request, p));
        const SynthOptions so = synth_options(request, p);
        if (plugin_cancel_requested()) throw Error(Errc::cancelled, "cancelled");
        std::unique_ptr<Streaming> streaming;
        const int rate = engine->sample_rate();
        if (sink) {
            streaming = std::make_unique<Streaming>();
            streaming->options.chunk_tokens = p.integer("stream_chunk_tokens", 16, 1, 1500);
            streaming->options.lookahead_tokens = p.integer("stream_lookahead_tokens", 4, 0, 1500);
            streaming->options.context_tokens = p.integer("stream_context_tokens", 24, 0, 1500);
            streaming->options.crossfade_tokens = p.integer("stream_crossfade_tokens", 2, 0, 100);
            streaming->on_audio = [sink, sink_user, rate](const float* x, size_t n) {
                return !plugin_cancel_requested() && sink(sink_user, rate, x, n);
            };
        }
        SynthResult r = engine->synthesize(*voice, request.text, so, streaming.get());
        out.sample_rate = r.sample_rate;
        out.samples = std::move(r.samples);
    }

    static VoiceSpec voice_spec(const SpeechRequest& request, const kit::ParamReader& p) {
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
        return spec;
    }

    static SynthOptions synth_options(const SpeechRequest& request, const kit::ParamReader& p) {
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
        return so;
    }

    std::shared_ptr<Engine> load(const std::string& s1, const std::string& s2) const {
        const kit::ParamReader p("gpt-sovits", params_);
        EngineOptions o;
        o.s1_path = s1;
        o.s2_path = s2;
        o.hubert_dir = p.path("model.hubert");
        o.device = p.string("device", o.device);
        o.s1_dtype = p.string("s1_dtype", o.s1_dtype);
        o.s1_batch = p.boolean("s1_batch", o.s1_batch);
        return Engine::load(o);
    }

    /// The plugin's engine, or the one for the voice's own s1_file / s2_file (cached per pair).
    std::shared_ptr<Engine> engine_for(const Params& voice) {
        const kit::ParamReader v("gpt-sovits", {&voice, &params_});
        if (!v.has("s1_file") && !v.has("s2_file")) {
            if (!engine_) throw Error(Errc::invalid_argument, "gpt-sovits: set model.s1 (.ckpt) and model.s2 (.pth), "
                                                              "or s1_file / s2_file in the voice");
            return engine_;
        }
        const kit::ParamReader p("gpt-sovits", params_);
        const std::string s1 = v.has("s1_file") ? v.path("s1_file") : p.path("model.s1");
        const std::string s2 = v.has("s2_file") ? v.path("s2_file") : p.path("model.s2");
        if (s1.empty() || s2.empty())
            throw Error(Errc::invalid_argument, "gpt-sovits: a voice with s1_file or s2_file needs both (or model.s1/model.s2)");
        std::lock_guard<std::mutex> lock(mutex_);
        auto& slot = engines_[s1 + "\n" + s2];
        if (!slot) slot = load(s1, s2);
        return slot;
    }

    Params params_;
    std::shared_ptr<Engine> engine_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Engine>> engines_;
};

}  // namespace
}  // namespace troupe::sovits

using GptSovitsModule = troupe::kit::SimpleModule<troupe::sovits::GptSovitsBackend, troupe::PluginKind::speech_backend>;
TROUPE_PLUGIN_DEFINE(GptSovitsModule)
