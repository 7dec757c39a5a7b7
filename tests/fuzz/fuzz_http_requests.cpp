// libFuzzer target for the server's request parsers (framework/server/requests.hpp): what `troupe
// serve` does with a request's body and parameters once cpp-httplib has received them. Byte 0
// selects the route; the rest is the body (or query, or header):
//   0 POST /v1/chat/completions (JSON)     1 POST /v1/audio/speech (JSON)
//   2 POST /tts (JSON)                     3 GET /tts (query "k=v&k=v", split as httplib's params)
//   4 POST /v1/scenes (JSON or TOML body, then parse_scene as the route validates it)
//   5 the Last-Event-ID header of /v1/scenes/{id}/events
// Every input must parse or be refused with HttpError (a 4xx answer) or troupe::Error; what parses
// must hold the documented ranges (std::abort otherwise).
#include "requests.hpp"

#include <troupe/scene.hpp>
#include <troupe/status.hpp>

#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <map>
#include <string_view>

namespace srv = troupe::server;

namespace {

constexpr size_t kMaxChars = 2000;  // the server's default max_text_chars

void check(bool ok) {
    if (!ok) std::abort();
}

void chat(std::string_view body) {
    const srv::ChatParams c = srv::parse_chat_request(srv::parse_json_body(body), kMaxChars);
    check(c.max_tokens >= 0 && c.max_tokens <= 1024);
    check(c.temperature == -1 || (c.temperature >= 0 && c.temperature <= 2));
    check(c.top_p == -1 || (c.top_p >= 0 && c.top_p <= 1));
    check(c.seed >= -1 && c.stop.size() <= 4);
    check(!c.situation.empty());
}

void speech(std::string_view body) {
    const srv::SpeechParams s = srv::parse_speech_request(srv::parse_json_body(body), kMaxChars);
    check(s.format == "wav" || s.format == "pcm");
    check(s.speed >= 0.25 && s.speed <= 4 && !s.input.empty() && s.seed <= uint64_t(INT64_MAX));
}

void tts(const nlohmann::json& params) {
    const srv::TtsParams t = srv::parse_tts_request(params, kMaxChars);
    check(!t.text.empty() && (t.media_type == "wav" || t.media_type == "raw"));
    check(t.top_k >= 1 && t.top_k <= 1000 && t.top_p >= 0 && t.top_p <= 1);
    check(t.temperature >= 0.01 && t.temperature <= 5 && t.speed >= 0.25 && t.speed <= 4 && t.seed <= 9e15);
}

std::multimap<std::string, std::string> query_params(std::string_view q) {
    std::multimap<std::string, std::string> params;
    for (size_t at = 0; at <= q.size();) {
        const size_t end = std::min(q.find('&', at), q.size());
        const std::string_view pair = q.substr(at, end - at);
        const size_t eq = pair.find('=');
        if (!pair.empty())
            params.emplace(std::string(pair.substr(0, eq)), eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1)));
        at = end + 1;
    }
    return params;
}

void scene(std::string_view rest) {
    if (rest.empty()) return;
    const std::string_view type = rest[0] % 2 ? "application/json" : "application/toml";
    const std::string text = srv::scene_script_text(type, rest.substr(1));
    const troupe::SceneScript s = troupe::parse_scene(text, "script");
    check(!s.cast.empty() && !s.beats.empty() && s.beats.size() <= 200);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 6) {
            case 0: chat(rest); break;
            case 1: speech(rest); break;
            case 2: tts(srv::parse_json_body(rest)); break;
            case 3: tts(srv::tts_query_json(query_params(rest))); break;
            case 4: scene(rest); break;
            default: check(srv::last_event_id(rest) >= 0 && srv::last_event_id(rest) < 1000000000); break;
        }
    } catch (const srv::HttpError& e) {
        check(e.status >= 400 && e.status < 500);
    } catch (const troupe::Error&) {
    }
    return 0;
}
