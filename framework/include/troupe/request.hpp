// troupe/request.hpp — one path from a character to a request (host side).
//
// `say`, `scene`, `eval` and the HTTP server turn (character, situation, action, options) into a
// text request here, and an emotion into the character's voice, so that the prompt template, the stop
// strings (declared by the template or the character, never by callers), the sampling, the adapter
// and the character's hooks are applied the same way everywhere:
//
//     auto backend = host.create_as<TextBackend>(c.text_backend, PluginKind::text_backend, c.text_params);
//     TextRequest request = make_text_request(host, c, backend.get(), {situation, action}, options);
//     TextResult result;
//     Status s = backend->generate(request, result, sink, user);
//     if (s) s = finish_line(host, c, result.text);            // the hooks' after_generate
//
//     SpeechRequest speech = make_speech_request(c, result.text, emotion, seed);
#pragma once

#include <troupe/character.hpp>
#include <troupe/host.hpp>
#include <troupe/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace troupe {

/// What a line responds to.
struct Situation {
    std::string situation;  // "주간 회의가 시작됐다"; may carry the scene so far (see scene.cpp)
    std::string action;     // the stage direction ([지문: …]); empty reads "없음"
    std::string history;    // fills {history} in templates that have it
};

/// Overrides of the character's sampling; unset fields keep the character's.
struct RequestOptions {
    std::optional<uint64_t> seed;
    std::optional<int> max_new_tokens;
    bool greedy = false;    // force greedy decoding
};

/// The text request for a line of `character`: its template filled, its stop strings, its sampling
/// with `options` applied, its adapter (registered with `backend` under the character id when
/// `backend` is given; loading twice is a no-op), then its hooks' before_generate (loaded once by the
/// host). Throws Error naming the character when the adapter or a hook fails.
TextRequest make_text_request(const Host& host, const Character& character, TextBackend* backend,
                              const Situation& situation, const RequestOptions& options = {});

/// Runs the character's after_generate hook on a generated line (no-op without hooks). The status
/// names the character when a hook fails.
Status finish_line(const Host& host, const Character& character, std::string& line);

/// The voice `character` uses for `emotion`: its default voice with the emotion's reference audio
/// and transcript, when it declares that emotion ([[speech.emotions]]); the default's
/// `prompt_codes_file` is replaced by the emotion's (dropped when it gives none: the codes belong to
/// the default reference).
Voice voice_for(const Character& character, const std::string& emotion);

/// The speech request for `text` in the character's voice for `emotion`.
SpeechRequest make_speech_request(const Character& character, const std::string& text, const std::string& emotion = {},
                                  uint64_t seed = 0);

}  // namespace troupe
