// Internal: the server's request parsers, free of sockets and of cpp-httplib: a request's body
// (JSON, TOML) or query parameters in, a checked request struct out, or HttpError (the HTTP status,
// the field it concerns, the message). The routes call them on what httplib received; the libFuzzer
// target tests/fuzz/fuzz_http_requests.cpp calls them on arbitrary bytes (docs/fuzzing.md).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <exception>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::server {

/// A bad request, thrown by the parsers and routes: HTTP status, the field it concerns, message.
struct HttpError : std::exception {
    HttpError(int s, std::string p, std::string m, std::string c = {})
        : status(s), param(std::move(p)), message(std::move(m)), code(std::move(c)) {}
    const char* what() const noexcept override { return message.c_str(); }
    int status;
    std::string param, message, code;
};

/// A request body as a JSON object; HttpError(400, "body") when it is not one.
nlohmann::json parse_json_body(std::string_view body);

/// Field readers: absent → `fallback`; wrong type or out of range → HttpError(400, name).
std::string string_field(const nlohmann::json& body, const std::string& name, bool required,
                         const std::string& fallback = {});
double number_field(const nlohmann::json& body, const std::string& name, double fallback, double min, double max);
int64_t integer_field(const nlohmann::json& body, const std::string& name, int64_t fallback, int64_t min, int64_t max);
bool bool_field(const nlohmann::json& body, const std::string& name, bool fallback);

/// Checks user text (not empty, valid UTF-8, at most `max_chars`); HttpError(400, name) otherwise.
void check_text_field(const std::string& text, const std::string& name, size_t max_chars);

/// POST /v1/chat/completions. `model` names the character; the situation is the last user message.
struct ChatParams {
    std::string model, situation, action;
    int64_t seed = -1;         // -1: none given
    int max_tokens = 0;        // 0: the character's default
    double temperature = -1;   // -1: none given; 0: greedy
    double top_p = -1;         // -1: none given
    bool stream = false, include_usage = false;
    std::vector<std::string> stop;  // at most 4, none empty
};
ChatParams parse_chat_request(const nlohmann::json& body, size_t max_text_chars);

/// POST /v1/audio/speech (OpenAI's speech API).
struct SpeechParams {
    std::string model, voice, input, format = "wav", emotion;  // format: "wav" or "pcm"
    double speed = 1.0;                                         // [0.25, 4]
    uint64_t seed = 0;
};
SpeechParams parse_speech_request(const nlohmann::json& body, size_t max_text_chars);

/// GET /tts's query parameters (httplib's Request::params) as the JSON object a POST would send:
/// api_v2's numeric parameters parsed as numbers (HttpError(400) otherwise), its flags as booleans.
nlohmann::json tts_query_json(const std::multimap<std::string, std::string>& params);

/// /tts (GPT-SoVITS api_v2), from tts_query_json or the POST body.
struct TtsParams {
    std::string text, text_lang, ref_audio_path, prompt_lang, prompt_text, media_type = "wav",
        text_split_method = "cut5", character, emotion;
    bool streaming = false;
    double top_k = 15, top_p = 1, temperature = 1, speed = 1;
    int stream_chunk_tokens = 16, stream_crossfade_tokens = 2;  // min_chunk_length, overlap_length
    uint64_t seed = 0;
};
TtsParams parse_tts_request(const nlohmann::json& p, size_t max_text_chars);

/// POST /v1/scenes: the script as TOML text, from the body itself or, when it is JSON (by
/// Content-Type or a leading '{'), from its "script" string or the JSON script converted to TOML.
std::string scene_script_text(std::string_view content_type, std::string_view body);

/// Last-Event-ID of GET /v1/scenes/{id}/events: the event id to resume after (0 when absent or not
/// a plain number below 10^9).
long last_event_id(std::string_view header);

}  // namespace troupe::server
