// The request path from a character to its text and speech requests (troupe/request.hpp).
#include <troupe/request.hpp>

#include <fmt/format.h>

namespace troupe {

TextRequest make_text_request(const Host& host, const Character& c, TextBackend* backend, const Situation& s,
                              const RequestOptions& options) {
    TextRequest request;
    request.prompt = render_prompt(c, s.situation, s.action, s.history);
    request.stop_strings = c.stop_strings;
    request.sampling = c.sampling;
    if (options.seed) request.sampling.seed = *options.seed;
    if (options.max_new_tokens && *options.max_new_tokens > 0) request.sampling.max_new_tokens = *options.max_new_tokens;
    if (options.greedy) request.sampling.greedy = true;
    if (!c.adapter.empty()) {
        if (backend) {
            const Status loaded = backend->load_adapter(c.id, c.adapter);
            if (!loaded)
                throw Error(loaded.code(), fmt::format("{}: adapter {}: {}", c.manifest_path, c.adapter, loaded.message()));
        }
        request.adapter = c.id;
    }
    if (auto hooks = host.hooks(c)) {
        const Status h = hooks->before_generate(request);
        if (!h) throw Error(h.code(), fmt::format("{} hooks (before_generate): {}", c.id, h.message()));
    }
    return request;
}

Status finish_line(const Host& host, const Character& c, std::string& line) {
    std::shared_ptr<CharacterHooks> hooks;
    try {
        hooks = host.hooks(c);
    } catch (const Error& e) {
        return e.status();
    }
    if (!hooks) return {};
    const Status h = hooks->after_generate(line);
    if (!h) return Status::error(h.code(), fmt::format("{} hooks (after_generate): {}", c.id, h.message()));
    return {};
}

Voice voice_for(const Character& c, const std::string& emotion) {
    Voice voice = c.voice;
    for (const auto& e : c.emotions)
        if (e.emotion == emotion) {
            voice.reference_audio = e.reference_audio;
            voice.reference_text = e.reference_text;
            // The default's prompt codes belong to the default reference: never pair them with another one.
            voice.params.erase("prompt_codes_file");
            if (!e.prompt_codes_file.empty()) voice.params["prompt_codes_file"] = e.prompt_codes_file;
        }
    return voice;
}

SpeechRequest make_speech_request(const Character& c, const std::string& text, const std::string& emotion,
                                  uint64_t seed) {
    SpeechRequest request;
    request.text = text;
    request.emotion = emotion;
    request.voice = voice_for(c, emotion);
    request.seed = seed;
    return request;
}

}  // namespace troupe
