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


namespace troupe::server {

namespace {

/// GET's query or POST's JSON as one checked request (requests.hpp).
TtsParams tts_params(const App& app, const httplib::Request& req) {
    return parse_tts_request(req.method == "POST" ? json_body(req) : tts_query_json(req.params),
                             app.options.max_text_chars);
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
    const TtsParams p = tts_params(app, req);
    // The voice: the character named by `character` (a Troupe extension), else the first one.
    const Character& c = p.character.empty() ? app.host.characters().at(0) : find_character(app, p.character, "character");
    SpeechRequest request;
    request.text = p.text;
    request.voice = voice_for(c, p.emotion);
    if (!p.ref_audio_path.empty()) {
        request.voice.reference_audio = allowed_path(app, p.ref_audio_path, "ref_audio_path");
        request.voice.reference_text = p.prompt_text;
    }
    request.voice.params["top_k"] = std::to_string(int(p.top_k));
    request.voice.params["top_p"] = std::to_string(p.top_p);
    request.voice.params["temperature"] = std::to_string(p.temperature);
    request.voice.params["split"] = p.text_split_method;
    request.seed = p.seed;
    std::string plugin = c.speech_backend;
    Params params;
    {
        std::lock_guard<std::mutex> lock(app.tts_mutex);
        if (!app.tts_plugin.empty()) plugin = app.tts_plugin, params = app.tts_params;
    }
    apply_speed(request.voice, plugin, p.speed);
    if (p.streaming) {  // api_v2's chunk sizes, in semantic tokens, for backends that stream (gpt-sovits)
        request.voice.params["stream_chunk_tokens"] = std::to_string(p.stream_chunk_tokens);
        request.voice.params["stream_crossfade_tokens"] = std::to_string(p.stream_crossfade_tokens);
        return stream_tts(app, app.backends.speech(plugin, params), std::move(request), p.media_type == "wav", res);
    }
    Audio audio = synthesize_queued(app, app.backends.speech(plugin, params), request, res);
    res.set_content(p.media_type == "wav" ? wav_bytes(audio) : pcm16_bytes(audio), "audio/" + p.media_type);
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
