// Internal: what every route of the server shares (the host, loaded backends, jobs, options).
#pragma once

#include "job_store.hpp"
#include "server.hpp"

#include "cast_backends.hpp"

#include <atomic>
#include <httplib.h>
#include <mutex>

namespace troupe::server {

struct App {
    App(const Host& h, const ServerOptions& o) : host(h), options(o), backends(h, o.queue_capacity) {}
    const Host& host;
    ServerOptions options;
    cli::CastBackends backends;
    std::unique_ptr<JobStore> jobs;
    std::atomic<bool> stopping{false};
    // Text generations answered, and cancelled because their client went away (for /health).
    std::atomic<uint64_t> completed{0}, cancelled{0};
    std::vector<std::string> allowed_dirs;  // canonical

    // /tts state (set_gpt_weights / set_sovits_weights): speech plugin and parameter overrides.
    std::mutex tts_mutex;
    std::string tts_plugin;
    Params tts_params;
};

// Route groups (one file each).
void add_basic_routes(httplib::Server& http, App& app);    // /health, /v1/models
void add_chat_routes(httplib::Server& http, App& app);     // /v1/chat/completions
void add_speech_routes(httplib::Server& http, App& app);   // /v1/audio/speech
void add_tts_routes(httplib::Server& http, App& app);      // /tts, /set_gpt_weights, /set_sovits_weights
void add_scene_routes(httplib::Server& http, App& app);    // /v1/scenes...
void add_eval_routes(httplib::Server& http, App& app);     // /v1/eval/reports...

}  // namespace troupe::server

namespace troupe::server {
/// The character a request names by id or display name; HttpError(404, `param`, code
/// "model_not_found") listing the known ids otherwise.
const Character& find_character(const App& app, const std::string& name, const std::string& param);
/// Seconds a client should wait after a 503 (the Retry-After header).
constexpr int kRetryAfterSeconds = 1;
}  // namespace troupe::server

namespace troupe::server {
using BackendQueueTicket = std::unique_ptr<cli::BackendQueue::Ticket>;
}

namespace troupe::server {
/// Synthesises `request` on `speech` in its turn; HttpError 503 (with Retry-After set on `res`)
/// when its queue is full, HttpError 500 naming the backend's message when synthesis fails.
Audio synthesize_queued(App& app, cli::CastBackends::Speech& speech, const SpeechRequest& request,
                        httplib::Response& res);
/// Applies a speed factor to a voice: espeak-ng's words per minute, other engines' "speed".
void apply_speed(Voice& voice, const std::string& plugin, double speed);
}  // namespace troupe::server

namespace troupe::server {
/// `path` made canonical when it lies under one of the allowed directories (the host's
/// [characters] allow_dirs and --allow-dir); HttpError(403, `param`) otherwise, 400 when it does
/// not exist. The server never reads a file a request names outside them.
std::string allowed_path(const App& app, const std::string& path, const std::string& param);
/// `relative` under `root` when it stays inside it (no "..", no absolute path, no symlink out);
/// HttpError(404) otherwise.
std::string file_under(const std::string& root, const std::string& relative);
}  // namespace troupe::server

namespace troupe::server {
/// The Content-Type of a served file, by its extension.
std::string content_type(const std::string& path);
}  // namespace troupe::server
