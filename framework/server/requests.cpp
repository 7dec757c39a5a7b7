#include "requests.hpp"

#include <troupe/status.hpp>
#include <troupe/text.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <set>
#include <sstream>

namespace troupe::server {

nlohmann::json parse_json_body(std::string_view body) {
    nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) throw HttpError(400, "body", "the request body is not valid JSON");
    if (!j.is_object()) throw HttpError(400, "body", "the request body must be a JSON object");
    return j;
}

std::string string_field(const nlohmann::json& body, const std::string& name, bool required,
                         const std::string& fallback) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        if (required) throw HttpError(400, name, "'" + name + "' is required");
        return fallback;
    }
    if (!it->is_string()) throw HttpError(400, name, "'" + name + "' must be a string");
    return it->get<std::string>();
}

double number_field(const nlohmann::json& body, const std::string& name, double fallback, double min, double max) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_number()) throw HttpError(400, name, "'" + name + "' must be a number");
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < min || v > max)
        throw HttpError(400, name, "'" + name + "' must lie in [" + nlohmann::json(min).dump() + ", " +
                                       nlohmann::json(max).dump() + "]");
    return v;
}

int64_t integer_field(const nlohmann::json& body, const std::string& name, int64_t fallback, int64_t min,
                      int64_t max) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) throw HttpError(400, name, "'" + name + "' must be an integer");
    // An unsigned value above INT64_MAX is out of range (get<int64_t> would wrap it negative).
    if (it->is_number_unsigned() && it->get<uint64_t>() > uint64_t(INT64_MAX))
        throw HttpError(400, name, "'" + name + "' must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    const int64_t v = it->get<int64_t>();
    if (v < min || v > max)
        throw HttpError(400, name, "'" + name + "' must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return v;
}

bool bool_field(const nlohmann::json& body, const std::string& name, bool fallback) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw HttpError(400, name, "'" + name + "' must be true or false");
    return it->get<bool>();
}

void check_text_field(const std::string& text, const std::string& name, size_t max_chars) {
    try {
        check_user_text(text, "'" + name + "'", max_chars);
    } catch (const Error& e) {
        throw HttpError(400, name, e.what());
    }
}

// --- /v1/chat/completions ---------------------------------------------------------------------

namespace {

std::string message_text(const nlohmann::json& content, size_t index) {
    const std::string param = "messages[" + std::to_string(index) + "].content";
    if (content.is_string()) return content.get<std::string>();
    if (!content.is_array()) throw HttpError(400, param, "'" + param + "' must be a string or an array of text parts");
    std::string text;
    for (const auto& part : content) {
        if (!part.is_object() || !part.contains("type") || part["type"] != "text" || !part.contains("text") ||
            !part["text"].is_string())
            throw HttpError(400, param, "'" + param + "' may only hold {\"type\": \"text\", \"text\": …} parts");
        text += part["text"].get<std::string>();
    }
    return text;
}

/// The situation: the last user message.
std::string situation_of(const nlohmann::json& body) {
    auto it = body.find("messages");
    if (it == body.end() || !it->is_array() || it->empty())
        throw HttpError(400, "messages", "'messages' must be a non-empty array");
    std::string situation;
    bool found = false;
    for (size_t i = 0; i < it->size(); ++i) {
        const auto& m = (*it)[i];
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
            throw HttpError(400, "messages[" + std::to_string(i) + "].role", "every message needs a string 'role'");
        if (m["role"] == "user") {
            situation = message_text(m.contains("content") ? m["content"] : nlohmann::json(), i);
            found = true;
        }
    }
    if (!found) throw HttpError(400, "messages", "'messages' has no user message (the situation)");
    return situation;
}

}  // namespace

ChatParams parse_chat_request(const nlohmann::json& body, size_t max_text_chars) {
    ChatParams c;
    c.model = string_field(body, "model", true);
    c.situation = situation_of(body);
    check_text_field(c.situation, "messages", max_text_chars);
    if (auto t = body.find("troupe"); t != body.end() && !t->is_null()) {
        if (!t->is_object()) throw HttpError(400, "troupe", "'troupe' must be an object {action, seed}");
        c.action = string_field(*t, "action", false);
        if (!c.action.empty()) check_text_field(c.action, "troupe.action", max_text_chars);
        c.seed = integer_field(*t, "seed", -1, 0, INT64_MAX);
    }
    if (c.seed < 0) c.seed = integer_field(body, "seed", -1, 0, INT64_MAX);
    c.max_tokens = int(integer_field(body, "max_completion_tokens", 0, 1, 1024));
    if (!c.max_tokens) c.max_tokens = int(integer_field(body, "max_tokens", 0, 1, 1024));
    c.temperature = number_field(body, "temperature", -1, 0, 2);
    c.top_p = number_field(body, "top_p", -1, 0, 1);
    if (integer_field(body, "n", 1, 1, 1) != 1) throw HttpError(400, "n", "'n' must be 1");
    c.stream = bool_field(body, "stream", false);
    if (auto so = body.find("stream_options"); so != body.end() && so->is_object())
        c.include_usage = bool_field(*so, "include_usage", false);
    if (auto stop = body.find("stop"); stop != body.end() && !stop->is_null()) {
        if (stop->is_string()) {
            c.stop.push_back(stop->get<std::string>());
        } else if (stop->is_array() && stop->size() <= 4) {
            for (const auto& s : *stop) {
                if (!s.is_string() || s.get<std::string>().empty())
                    throw HttpError(400, "stop", "'stop' strings must be non-empty");
                c.stop.push_back(s.get<std::string>());
            }
        } else {
            throw HttpError(400, "stop", "'stop' must be a string or up to 4 strings");
        }
    }
    return c;
}

// --- /v1/audio/speech -------------------------------------------------------------------------

SpeechParams parse_speech_request(const nlohmann::json& body, size_t max_text_chars) {
    SpeechParams s;
    s.model = string_field(body, "model", true);
    s.voice = string_field(body, "voice", false);
    s.input = string_field(body, "input", true);
    check_text_field(s.input, "input", max_text_chars);
    s.format = string_field(body, "response_format", false, "wav");
    if (s.format != "wav" && s.format != "pcm")
        throw HttpError(400, "response_format", "'response_format' must be \"wav\" or \"pcm\" (not " + s.format + ")");
    s.speed = number_field(body, "speed", 1.0, 0.25, 4.0);
    s.emotion = string_field(body, "emotion", false);
    s.seed = uint64_t(integer_field(body, "seed", 0, 0, INT64_MAX));
    return s;
}

// --- /tts (api_v2) ----------------------------------------------------------------------------

namespace {

const std::set<std::string> kLanguages = {"ko", "all_ko", "auto"};
const std::set<std::string> kCutMethods = {"cut0", "cut1", "cut2", "cut3", "cut4", "cut5"};
const std::set<std::string> kNumbers = {"top_k", "top_p", "temperature", "speed_factor", "seed", "batch_size",
                                        "repetition_penalty", "fragment_interval", "sample_steps",
                                        "min_chunk_length", "overlap_length"};

std::string language(const nlohmann::json& p, const std::string& name) {
    const std::string lang = string_field(p, name, false);
    if (lang.empty()) throw HttpError(400, name, name + " is required");
    if (!kLanguages.count(lang))
        throw HttpError(400, name, name + ": " + lang + " is not supported in version troupe (Korean only: ko)");
    return lang;
}

}  // namespace

nlohmann::json tts_query_json(const std::multimap<std::string, std::string>& params) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : params) {
        if (kNumbers.count(key)) {
            nlohmann::json n = nlohmann::json::parse(value, nullptr, false);
            if (!n.is_number()) throw HttpError(400, key, key + ": '" + value + "' is not a number");
            out[key] = n;
        } else if (key == "streaming_mode" || key == "split_bucket" || key == "parallel_infer") {
            out[key] = value == "true" || value == "True" || value == "1" || value == "2" || value == "3";
        } else {
            out[key] = value;
        }
    }
    return out;
}

TtsParams parse_tts_request(const nlohmann::json& p, size_t max_text_chars) {
    TtsParams t;
    t.text = string_field(p, "text", false);
    if (t.text.empty()) throw HttpError(400, "text", "text is required");
    check_text_field(t.text, "text", max_text_chars);
    t.text_lang = language(p, "text_lang");
    t.ref_audio_path = string_field(p, "ref_audio_path", false);
    if (!t.ref_audio_path.empty()) {
        t.prompt_lang = language(p, "prompt_lang");
        t.prompt_text = string_field(p, "prompt_text", false);
    }
    t.media_type = string_field(p, "media_type", false, "wav");
    if (t.media_type != "wav" && t.media_type != "raw")
        throw HttpError(400, "media_type", "media_type: " + t.media_type + " is not supported");
    t.text_split_method = string_field(p, "text_split_method", false, "cut5");
    if (!kCutMethods.count(t.text_split_method))
        throw HttpError(400, "text_split_method", "text_split_method:" + t.text_split_method + " is not supported");
    // streaming_mode: a boolean, or api_v2's number (0 off, 1-3 its modes).
    if (auto s = p.find("streaming_mode"); s != p.end())
        t.streaming = s->is_boolean() ? s->get<bool>() : s->is_number() && s->get<double>() != 0;
    t.top_k = number_field(p, "top_k", 15, 1, 1000);
    t.top_p = number_field(p, "top_p", 1, 0, 1);
    t.temperature = number_field(p, "temperature", 1, 0.01, 5);
    t.speed = number_field(p, "speed_factor", 1, 0.25, 4);
    t.seed = uint64_t(std::max(0.0, number_field(p, "seed", 0, -1, 9e15)));
    if (t.streaming) {  // api_v2's chunk sizes in semantic tokens (read only when streaming, as api_v2)
        t.stream_chunk_tokens = int(number_field(p, "min_chunk_length", 16, 1, 1500));
        t.stream_crossfade_tokens = int(number_field(p, "overlap_length", 2, 0, 100));
    }
    t.character = string_field(p, "character", false);
    t.emotion = string_field(p, "emotion", false);
    return t;
}

// --- /v1/scenes -------------------------------------------------------------------------------

namespace {

constexpr int kMaxScriptDepth = 16;  // a scene script nests 3 deep (table, beats array, beat table)

/// A JSON value as a TOML node (null values are left out; nullptr for a null). Deeper nesting than
/// any script has is refused: it would only cost stack (here and in the TOML printer).
std::unique_ptr<toml::node> to_toml(const nlohmann::json& v, int depth = 0) {
    if (depth > kMaxScriptDepth)
        throw HttpError(400, "body", "the script nests deeper than " + std::to_string(kMaxScriptDepth) + " levels");
    if (v.is_string()) return std::make_unique<toml::value<std::string>>(v.get<std::string>());
    if (v.is_boolean()) return std::make_unique<toml::value<bool>>(v.get<bool>());
    if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX))
        return std::make_unique<toml::value<double>>(v.get<double>());  // TOML integers are 64-bit signed
    if (v.is_number_integer()) return std::make_unique<toml::value<int64_t>>(v.get<int64_t>());
    if (v.is_number()) return std::make_unique<toml::value<double>>(v.get<double>());
    if (v.is_array()) {
        auto a = std::make_unique<toml::array>();
        for (const auto& item : v)
            if (auto n = to_toml(item, depth + 1)) a->push_back(std::move(*n));
        return a;
    }
    if (v.is_object()) {
        auto t = std::make_unique<toml::table>();
        for (auto& [key, value] : v.items())
            if (auto n = to_toml(value, depth + 1)) t->insert(key, std::move(*n));
        return t;
    }
    return nullptr;
}

}  // namespace

std::string scene_script_text(std::string_view content_type, std::string_view body) {
    const size_t first = body.find_first_not_of(" \t\r\n");
    const bool json = content_type.find("json") != std::string_view::npos ||
                      (first != std::string_view::npos && body[first] == '{');
    if (!json) return std::string(body);
    nlohmann::json j = parse_json_body(body);
    if (j.contains("script") && j["script"].is_string()) return j["script"].get<std::string>();
    std::ostringstream out;
    out << *static_cast<toml::table*>(to_toml(j).get());
    return out.str();
}

long last_event_id(std::string_view header) {
    if (header.empty() || header.size() >= 10 || header.find_first_not_of("0123456789") != std::string_view::npos)
        return 0;
    return std::stol(std::string(header));
}

}  // namespace troupe::server
