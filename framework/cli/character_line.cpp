// Thin adapter over the current host API (see character_line.hpp).
#include "character_line.hpp"

namespace troupe::cli {

TextRequest line_request(const Host& host, const Character& c, const std::string& situation,
                         const std::string& action, const LineOptions& options) {
    TextRequest request;
    request.prompt = render_prompt(c, situation, action);
    request.sampling = c.sampling;
    if (options.seed >= 0) request.sampling.seed = uint64_t(options.seed);
    if (options.max_new_tokens > 0) request.sampling.max_new_tokens = options.max_new_tokens;
    if (options.greedy) request.sampling.greedy = true;
    if (options.temperature >= 0) request.sampling.temperature = options.temperature;
    if (options.top_p >= 0) request.sampling.top_p = options.top_p;
    request.stop_strings = {"###"};
    if (!c.adapter.empty()) request.adapter = c.id;
    if (auto hooks = host.hooks(c)) {
        Status s = hooks->before_generate(request);
        if (!s) throw Error(s.code(), c.id + " hooks: " + s.message());
    }
    return request;
}

Status finish_line(const Host& host, const Character& c, std::string& text) {
    auto hooks = host.hooks(c);
    if (!hooks) return {};
    Status s = hooks->after_generate(text);
    if (!s) return Status::error(s.code(), c.id + " hooks: " + s.message());
    return {};
}

}  // namespace troupe::cli

namespace troupe::cli {

Voice voice_for(const Character& c, const std::string& emotion) {
    Voice voice = c.voice;
    for (const auto& e : c.emotions)
        if (e.emotion == emotion) {
            voice.reference_audio = e.reference_audio;
            voice.reference_text = e.reference_text;
        }
    return voice;
}

}  // namespace troupe::cli
