// troupe serve: the cast over HTTP (cpp-httplib). OpenAI-compatible chat and speech, GPT-SoVITS
// api_v2-compatible /tts, scene jobs with live progress, eval reports, and the studio page.
// Routes and limits are documented in docs/server.md.
#pragma once

#include <troupe/host.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace troupe::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 9880;                       // 0: an ephemeral port (reported through on_ready)
    std::string api_key;                   // empty: no authentication
    int threads = 16;                      // HTTP worker threads
    std::string data_dir = "out/serve";    // scene jobs live under <data_dir>/jobs
    std::vector<std::string> eval_dirs;    // folders searched for eval runs (results.json)
    std::vector<std::string> allow_dirs;   // besides the host's [characters] allow_dirs
    std::string studio_dir;                // static files of the studio page ("" = built-in path)
    size_t max_body_bytes = 1 << 20;       // request bodies
    size_t max_text_chars = 2000;          // situation, speech input, /tts text
    size_t max_jobs = 4;                   // scene jobs waiting or running at once
    size_t queue_capacity = 8;             // requests admitted per backend (waiting or running)
    bool preload = true;                   // load every character's backends at start
};

/// Runs the server until stop_server() or SIGTERM/SIGINT (when `handle_signals`); returns the
/// process exit code. `on_ready(port)` is called once the socket listens. Throws Error when the
/// address cannot be bound or the backends fail to load.
int run_server(const Host& host, const ServerOptions& options, const std::function<void(int)>& on_ready = {},
               bool handle_signals = true);

/// Asks a running server to stop: in-flight generations are cancelled, running scene jobs stop
/// after their current line, and run_server returns. Safe from any thread.
void stop_server();

}  // namespace troupe::server
