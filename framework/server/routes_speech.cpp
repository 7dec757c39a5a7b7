// POST /v1/audio/speech (OpenAI's speech API): the character's voice as WAV or raw PCM.
#include "app.hpp"
#include "json_shapes.hpp"
#include "wav_bytes.hpp"

#include <troupe/request.hpp>

#include <troupe/audio.hpp>

#include <cmath>

namespace troupe::server {

void apply_speed(Voice& voice, const std::string& plugin, double speed) {
    if (speed == 1.0) return;
    if (plugin == "espeak-ng") {
        auto it = voice.params.find("rate");
        const double rate = it == voice.params.end() ? 175.0 : std::stod(it->second);
        voice.params["rate"] = std::to_string(std::lround(std::clamp(rate * speed, 80.0, 450.0)));
    } else {
        voice.params["speed"] = std::to_string(speed);
    }
}

Audio synthesize_queued(App& app, cli::CastBackends::Speech& speech, const SpeechRequest& request,
                        httplib::Response& res) {
    auto ticket = speech.queue->try_enter();
    if (!ticket) {
        res.set_header("Retry-After", std::to_string(kRetryAfterSeconds));
        throw HttpError(503, {}, "the speech backend is busy: its queue is full; retry later", "queue_full");
    }
    if (!ticket->wait_turn([&] { return bool(app.stopping); }))
        throw HttpError(503, {}, "the server is shutting down", "shutting_down");
    Audio audio;
    Status s = speech.backend->synthesize(request, audio);
    if (!s) throw HttpError(s.code() == Errc::invalid_argument ? 400 : 500, "input", s.message());
    return audio;
}

void add_speech_routes(httplib::Server& http, App& app) {
    http.Post("/v1/audio/speech", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        const SpeechParams p = parse_speech_request(json_body(req), app.options.max_text_chars);
        // `model` names the character; OpenAI clients send a model like "tts-1", then `voice` does.
        const Character* c = nullptr;
        for (const auto& ch : app.host.characters())
            if (ch.id == p.model || ch.name == p.model) c = &ch;
        if (!c) c = &find_character(app, p.voice.empty() ? p.model : p.voice, p.voice.empty() ? "model" : "voice");
        SpeechRequest request = make_speech_request(*c, p.input, p.emotion, p.seed);
        apply_speed(request.voice, c->speech_backend, p.speed);
        Audio audio = synthesize_queued(app, app.backends.speech(*c), request, res);
        if (p.format == "wav") {
            res.set_content(wav_bytes(audio), "audio/wav");
        } else {  // OpenAI's pcm: 24 kHz, 16-bit little-endian, mono
            res.set_content(pcm16_bytes(resample(audio, 24000)), "audio/pcm");
            res.set_header("X-Sample-Rate", "24000");
        }
    }));
}

}  // namespace troupe::server
