// GPT-SoVITS api_v2 compatibility: GET/POST /tts, /set_gpt_weights, /set_sovits_weights, with
// api_v2's parameter names and answers (audio bytes, or 400 {"message": …, "Exception": …}).
// Unlike upstream, every path a request names must lie under the allowed directories (403).
#include "app.hpp"
#include "json_shapes.hpp"
#include "wav_bytes.hpp"

#include "stream_writer.hpp"

#include <troupe/audio.hpp>
#include <troupe/plugin.hpp>
#include <troupe/request.hpp>

#include <set>

namespace troupe::server {

namespace {

const std::set<std::string> kLanguages = {"ko", "all_ko", "auto"};
const std::set<std::string> kCutMethods = {"cut0", "cut1", "cut2", "cut3", "cut4", "cut5"};
const std::set<std::string> kNumbers = {"top_k", "top_p", "temperature", "speed_factor", "seed", "batch_size",
                                        "repetition_penalty", "fragment_interval", "sample_steps",
                                        "min_chunk_length", "overlap_length"};

/// GET's query or POST's JSON as one JSON object (query numbers and booleans converted).
nlohmann::json tts_params(const httplib::Request& req) {
    if (req.method == "POST") return json_body(req);
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [key, value] : req.params) {
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

void check_language(const nlohmann::json& p, const std::string& name) {
    const std::string lang = string_field(p, name, false);
    if (lang.empty()) throw HttpError(400, name, name + " is required");
    if (!kLanguages.count(lang))
        throw HttpError(400, name, name + ": " + lang + " is not supported in version troupe (Korean only: ko)");
}

// ---- streaming_mode: audio pieces written as the backend produces them --------------------------

struct TtsStream {
    StreamWriter* writer;
    const App* app;
    bool wav;
    bool header_sent = false;
};

bool on_audio(void* user, int sample_rate, const float* samples, size_t count) {
    auto* s = static_cast<TtsStream*>(user);
    if (s->app->stopping) return false;
    std::string bytes;
    if (s->wav && !s->header_sent) bytes = wav_header(sample_rate, kWavUnknownLength);  // as api_v2: header first
    s->header_sent = true;
    bytes += pcm16_le(samples, count);
    return s->writer->write(bytes);
}

/// Answers with the audio as it is synthesised (troupe::synthesize_stream; one piece for backends
/// without streaming). The status line is sent before synthesis starts, so an error or a client that
/// leaves ends the chunked body early.
void stream_tts(App& app, cli::CastBackends::Speech& speech, SpeechRequest request, bool wav, httplib::Response& res) {
    auto ticket = std::make_shared<BackendQueueTicket>(speech.queue->try_enter());
    if (!*ticket) {
        res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
        throw HttpError(503, {}, "the speech backend is busy: its queue is full; retry later", "queue_full");
    }
    auto call = std::make_shared<SpeechRequest>(std::move(request));
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(wav ? "audio/wav" : "audio/raw",
                                     [&app, &speech, ticket, call, wav](size_t, httplib::DataSink& sink) {
        StreamWriter writer(sink, StreamWriter::Kind::json);
        if (!(*ticket)->wait_turn([&] { return bool(app.stopping); })) return false;
        TtsStream state{&writer, &app, wav};
        Audio audio;
        const Status s = synthesize_stream(*speech.backend, *call, audio, &on_audio, &state);
        ticket->reset();
        if (!s || !writer.ok()) return false;  // ends the body early (the client sees it cut)
        writer.finish();
        return writer.ok();
    });
}

void handle_tts(App& app, const httplib::Request& req, httplib::Response& res) {
    const nlohmann::json p = tts_params(req);
    const std::string text = string_field(p, "text", false);
    if (text.empty()) throw HttpError(400, "text", "text is required");
    check_text_field(text, "text", app.options.max_text_chars);
    check_language(p, "text_lang");
    const std::string ref = string_field(p, "ref_audio_path", false);
    if (!ref.empty()) check_language(p, "prompt_lang");
    const std::string media = string_field(p, "media_type", false, "wav");
    if (media != "wav" && media != "raw") throw HttpError(400, "media_type", "media_type: " + media + " is not supported");
    const std::string split = string_field(p, "text_split_method", false, "cut5");
    if (!kCutMethods.count(split)) throw HttpError(400, "text_split_method", "text_split_method:" + split + " is not supported");
    const bool streaming = p.contains("streaming_mode") && (p["streaming_mode"].is_boolean() ? p["streaming_mode"].get<bool>()
                                                             : p["streaming_mode"].is_number() && p["streaming_mode"].get<int>() != 0);
    const double top_k = number_field(p, "top_k", 15, 1, 1000);
    const double top_p = number_field(p, "top_p", 1, 0, 1);
    const double temperature = number_field(p, "temperature", 1, 0.01, 5);
    const double speed = number_field(p, "speed_factor", 1, 0.25, 4);

    // The voice: the character named by `character` (a Troupe extension), else the first one.
    const std::string who = string_field(p, "character", false);
    const Character& c = who.empty() ? app.host.characters().at(0) : find_character(app, who, "character");
    SpeechRequest request;
    request.text = text;
    request.voice = voice_for(c, string_field(p, "emotion", false));
    if (!ref.empty()) {
        request.voice.reference_audio = allowed_path(app, ref, "ref_audio_path");
        request.voice.reference_text = string_field(p, "prompt_text", false);
    }
    request.voice.params["top_k"] = std::to_string(int(top_k));
    request.voice.params["top_p"] = std::to_string(top_p);
    request.voice.params["temperature"] = std::to_string(temperature);
    request.voice.params["split"] = split;
    request.seed = uint64_t(std::max(0.0, number_field(p, "seed", 0, -1, 9e15)));
    std::string plugin = c.speech_backend;
    Params params;
    {
        std::lock_guard<std::mutex> lock(app.tts_mutex);
        if (!app.tts_plugin.empty()) plugin = app.tts_plugin, params = app.tts_params;
    }
    apply_speed(request.voice, plugin, speed);
    if (streaming) {  // api_v2's chunk sizes, in semantic tokens, for backends that stream (gpt-sovits)
        request.voice.params["stream_chunk_tokens"] = std::to_string(int(number_field(p, "min_chunk_length", 16, 1, 1500)));
        request.voice.params["stream_crossfade_tokens"] = std::to_string(int(number_field(p, "overlap_length", 2, 0, 100)));
        return stream_tts(app, app.backends.speech(plugin, params), std::move(request), media == "wav", res);
    }
    Audio audio = synthesize_queued(app, app.backends.speech(plugin, params), request, res);
    const std::string type = "audio/" + media;
    res.set_content(media == "wav" ? wav_bytes(audio) : pcm16_bytes(audio), type);
}

/// /set_gpt_weights and /set_sovits_weights: switch /tts to GPT-SoVITS with these weights.
httplib::Server::Handler set_weights(App& app, const std::string& which, const std::string& param_key) {
    return api_v2_route([&app, which, param_key](const httplib::Request& req, httplib::Response& res) {
        const std::string path = req.has_param("weights_path") ? req.get_param_value("weights_path")
                                 : req.method == "POST" ? string_field(json_body(req), "weights_path", false)
                                                        : std::string();
        if (path.empty()) throw HttpError(400, "weights_path", which + " weight path is required");
        const std::string file = allowed_path(app, path, "weights_path");
        if (!app.host.find_plugin("gpt-sovits"))
            throw HttpError(400, "weights_path", "change " + which + " weight failed",
                            "the gpt-sovits plugin is not loaded, so no weights can be set");
        std::lock_guard<std::mutex> lock(app.tts_mutex);
        app.tts_plugin = "gpt-sovits";
        app.tts_params[param_key] = file;
        send_json(res, {{"message", "success"}});
    });
}

}  // namespace

void add_tts_routes(httplib::Server& http, App& app) {
    auto tts = api_v2_route([&app](const httplib::Request& req, httplib::Response& res) { handle_tts(app, req, res); });
    http.Get("/tts", tts);
    http.Post("/tts", tts);
    http.Get("/set_gpt_weights", set_weights(app, "gpt", "model.s1"));
    http.Post("/set_gpt_weights", set_weights(app, "gpt", "model.s1"));
    http.Get("/set_sovits_weights", set_weights(app, "sovits", "model.s2"));
    http.Post("/set_sovits_weights", set_weights(app, "sovits", "model.s2"));
}

}  // namespace troupe::server
