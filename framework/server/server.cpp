// run_server: wiring (threads, limits, authentication, error answers, routes, static studio files)
// and a clean stop on SIGTERM/SIGINT or stop_server().
#include "app.hpp"
#include "json_shapes.hpp"

#include <boost/filesystem.hpp>

#include <atomic>
#include <csignal>
#include <pthread.h>
#include <sys/socket.h>
#include <thread>

namespace troupe::server {
namespace fs = boost::filesystem;

namespace {

std::atomic<bool> g_stop_requested{false};

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

/// Routes that carry data (everything but /health and the studio's static files) need the key.
bool needs_key(const std::string& path) {
    return starts_with(path, "/v1/") || path == "/v1" || starts_with(path, "/tts") ||
           starts_with(path, "/set_gpt_weights") || starts_with(path, "/set_sovits_weights");
}

bool api_v2_path(const std::string& path) {
    return starts_with(path, "/tts") || starts_with(path, "/set_gpt_weights") || starts_with(path, "/set_sovits_weights");
}

/// Constant-time comparison of the presented and the configured key.
bool same_key(const std::string& a, const std::string& b) {
    if (a.size() != b.size() || b.empty()) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

std::string default_studio_dir() {
    for (const fs::path& p : {fs::path(source_dir()) / "web" / "studio",
                              fs::path(default_character_dir()).parent_path() / "web" / "studio"})
        if (!p.empty() && fs::is_regular_file(p / "index.html")) return p.string();
    return {};
}

void configure(httplib::Server& http, App& app) {
    const ServerOptions& o = app.options;
    const int threads = std::max(2, o.threads);
    http.new_task_queue = [threads] { return new httplib::ThreadPool(size_t(threads)); };
    http.set_payload_max_length(o.max_body_bytes);
    http.set_read_timeout(10, 0);
    http.set_write_timeout(10, 0);
    http.set_keep_alive_timeout(2);  // idle connections free their thread (and let a stop finish) soon
    http.set_pre_routing_handler([&app](const httplib::Request& req, httplib::Response& res) {
        if (app.options.api_key.empty() || !needs_key(req.path)) return httplib::Server::HandlerResponse::Unhandled;
        const std::string auth = req.get_header_value("Authorization");
        const std::string presented = starts_with(auth, "Bearer ") ? auth.substr(7) : std::string();
        if (same_key(presented, app.options.api_key)) return httplib::Server::HandlerResponse::Unhandled;
        res.set_header("WWW-Authenticate", "Bearer");
        if (api_v2_path(req.path)) send_json(res, {{"message", "a valid API key is required (Authorization: Bearer KEY)"}}, 401);
        else send_openai_error(res, 401, "a valid API key is required (Authorization: Bearer KEY)", "Authorization", "invalid_api_key");
        return httplib::Server::HandlerResponse::Handled;
    });
    http.set_error_handler(httplib::Server::HandlerWithResponse([&app](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.content_provider_) return httplib::Server::HandlerResponse::Unhandled;
        std::string message = "error " + std::to_string(res.status), param;
        if (res.status == 404) message = "no route for " + req.method + " " + req.path;
        if (res.status == 413) message = "the request body is larger than " + std::to_string(app.options.max_body_bytes) + " bytes", param = "body";
        if (res.status == 400) message = "malformed request", param = "body";
        if (api_v2_path(req.path)) send_json(res, {{"message", message}}, res.status);
        else send_openai_error(res, res.status, message, param);
        return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string message = "internal error";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            message = e.what();
        } catch (...) {
        }
        send_openai_error(res, 500, message, {});
    });
    add_basic_routes(http, app);
    add_chat_routes(http, app);
    add_speech_routes(http, app);
    add_tts_routes(http, app);
    add_scene_routes(http, app);
    add_eval_routes(http, app);
    const std::string studio = o.studio_dir.empty() ? default_studio_dir() : o.studio_dir;
    if (!studio.empty()) http.set_mount_point("/", studio);
    else app.host.log(LogLevel::warn, "serve: the studio's files (web/studio) were not found; GET / answers 404");
}

void prepare(App& app) {
    ServerOptions& o = app.options;
    fs::create_directories(o.data_dir);
    o.data_dir = fs::canonical(o.data_dir).string();
    if (o.eval_dirs.empty()) o.eval_dirs = {(fs::path(o.data_dir) / "eval").string(), "out/demo/eval"};
    std::vector<std::string> dirs = app.host.allowed_dirs();
    dirs.insert(dirs.end(), o.allow_dirs.begin(), o.allow_dirs.end());
    for (const auto& d : dirs) {
        boost::system::error_code ec;
        fs::path c = fs::canonical(d, ec);
        if (!ec && fs::is_directory(c)) app.allowed_dirs.push_back(c.string());
        else app.host.log(LogLevel::warn, "serve: allowed directory " + d + " does not exist; ignored");
    }
    app.jobs = std::make_unique<JobStore>((fs::path(o.data_dir) / "jobs").string(), std::max<size_t>(1, o.max_jobs));
    if (o.preload) app.backends.load_all();
}

/// Waits for SIGTERM/SIGINT (blocked in every server thread) or stop_server().
void watch_signals(bool handle_signals, sigset_t signals) {
    while (!g_stop_requested) {
        if (handle_signals) {
            timespec timeout{0, 200 * 1000 * 1000};
            if (sigtimedwait(&signals, nullptr, &timeout) > 0) g_stop_requested = true;
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
}

}  // namespace

void stop_server() { g_stop_requested = true; }

int run_server(const Host& host, const ServerOptions& options, const std::function<void(int)>& on_ready,
               bool handle_signals) {
    g_stop_requested = false;
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    if (handle_signals) pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // threads created below inherit it

    App app(host, options);
    prepare(app);
    httplib::Server http;
    configure(http, app);
    // cpp-httplib 0.11 listens with a backlog of 5, too short for bursts of clients: note the
    // listening socket here (socket options are applied before bind) and widen its backlog below.
    int listening = -1;
    http.set_socket_options([&listening](int sock) {
        int yes = 1;
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
        if (listening < 0) listening = sock;
    });
    const int port = app.options.port == 0 ? http.bind_to_any_port(app.options.host)
                                           : (http.bind_to_port(app.options.host, app.options.port) ? app.options.port : -1);
    if (port <= 0)
        throw Error(Errc::runtime, "serve: cannot listen on " + app.options.host + ":" + std::to_string(app.options.port));
    if (listening >= 0) ::listen(listening, SOMAXCONN);
    std::thread listener([&http] { http.listen_after_bind(); });
    while (!http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    host.log(LogLevel::info, "serve: listening on http://" + app.options.host + ":" + std::to_string(port));
    if (on_ready) on_ready(port);

    watch_signals(handle_signals, signals);
    host.log(LogLevel::info, "serve: stopping (cancelling in-flight work)");
    app.stopping = true;
    for (auto& job : app.jobs->list()) job->cancel = true;
    http.stop();
    listener.join();
    app.jobs->stop_all();
    host.log(LogLevel::info, "serve: stopped");
    return 0;
}

}  // namespace troupe::server
