// Scene jobs: POST /v1/scenes (a script as TOML or JSON) starts a job; GET /v1/scenes/{id}/events
// streams its progress (SSE), GET /v1/scenes/{id} gives its state and manifest, and
// GET /v1/scenes/{id}/files/{path} its files (line WAVs, mix.wav, subtitles.srt, …).
#include "app.hpp"
#include "json_shapes.hpp"
#include "stream_writer.hpp"

#include "scene_render.hpp"

#include <boost/filesystem.hpp>

#include <fstream>

namespace troupe::server {
namespace fs = boost::filesystem;

namespace {

constexpr size_t kMaxBeats = 40;

/// The posted script as TOML text: the body itself, or the JSON body converted.
std::string script_text(const httplib::Request& req) {
    return scene_script_text(req.get_header_value("Content-Type"), req.body);
}

/// Parses and validates the script (as the CLI would), naming "script" in errors.
SceneScript validate_script(const App& app, const std::string& text) {
    SceneScript scene;
    try {
        scene = parse_scene(text, "script");
    } catch (const Error& e) {
        throw HttpError(400, "script", e.what());
    }
    if (scene.beats.empty()) throw HttpError(400, "beats", "the script has no beats");
    if (scene.beats.size() > kMaxBeats)
        throw HttpError(400, "beats", "the script has " + std::to_string(scene.beats.size()) + " beats (at most " +
                                          std::to_string(kMaxBeats) + ")");
    for (const auto& id : scene.cast) find_character(app, id, "cast");
    for (const auto& b : scene.beats) {
        if (!b.line.empty()) check_text_field(b.line, "beats.line", app.options.max_text_chars);
        if (!b.situation.empty()) check_text_field(b.situation, "beats.situation", app.options.max_text_chars);
    }
    return scene;
}

std::string files_url(const Job& job, const std::string& relative) {
    return "/v1/scenes/" + job.id() + "/files/" + relative;
}

void run_job(App& app, Job& job) {
    try {
        SceneScript scene = load_scene((fs::path(job.dir()) / "script.toml").string());
        job.set_title(scene.title);
        job.set_status("running");
        job.push("started", {{"title", scene.title}, {"lines", scene.beats.size()}, {"cast", scene.cast}});
        cli::SceneProgress progress;
        progress.line_started = [&](const nlohmann::json& e) { job.push("line_started", e); };
        progress.text_ready = [&](const nlohmann::json& e) { job.push("text_ready", e); };
        progress.audio_ready = [&](const nlohmann::json& e) {
            nlohmann::json event = e;
            event["url"] = files_url(job, e["wav"].get<std::string>());
            job.push("audio_ready", event);
        };
        progress.line_failed = [&](const nlohmann::json& e) { job.push("line_failed", e); };
        progress.cancelled = [&] { return job.cancel || app.stopping; };
        cli::SceneRenderOptions options;
        options.out_dir = job.dir();
        cli::SceneRenderResult result = cli::render_scene(app.host, app.backends, scene, options, progress);
        job.push("done", {{"lines", result.lines}, {"voiced", result.voiced}, {"mix_seconds", result.mix_seconds},
                          {"mix", files_url(job, "mix.wav")}, {"subtitles", files_url(job, "subtitles.srt")},
                          {"manifest", "/v1/scenes/" + job.id()}});
        job.set_status("done");
    } catch (const Error& e) {
        job.push("failed", {{"error", e.what()}});
        job.set_status(e.code() == Errc::cancelled ? "cancelled" : "failed", e.what());
    } catch (const std::exception& e) {
        job.push("failed", {{"error", e.what()}});
        job.set_status("failed", e.what());
    }
}

std::shared_ptr<Job> job_of(const App& app, const httplib::Request& req) {
    auto job = app.jobs->find(req.matches[1]);
    if (!job) throw HttpError(404, "id", "no scene job '" + std::string(req.matches[1]) + "'");
    return job;
}

}  // namespace

std::string content_type(const std::string& path) {
    const std::string ext = fs::path(path).extension().string();
    if (ext == ".wav") return "audio/wav";
    if (ext == ".json") return "application/json";
    if (ext == ".srt") return "application/x-subrip; charset=utf-8";
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".md") return "text/markdown; charset=utf-8";
    return "text/plain; charset=utf-8";
}

namespace {

bool stream_events(App& app, std::shared_ptr<Job> job, long after, httplib::DataSink& sink) {
    StreamWriter writer(sink, StreamWriter::Kind::sse);
    for (;;) {
        bool finished = false;
        auto events = job->events_after(after, std::chrono::milliseconds(500), finished);
        for (const auto& e : events) {
            writer.event(e.data, e.type, e.id);
            after = e.id;
        }
        if (!writer.ok()) return false;
        if (finished && events.empty()) break;
        if (app.stopping && events.empty()) break;
        if (events.empty() && !writer.alive(std::chrono::milliseconds(2000))) return false;
    }
    writer.finish();
    return writer.ok();
}

}  // namespace

void add_scene_routes(httplib::Server& http, App& app) {
    // The sample scripts shipped with Troupe (scenes/*.toml), for the studio's "load the sample".
    http.Get("/v1/scene-samples", openai_route([](const httplib::Request&, httplib::Response& res) {
        nlohmann::json data = nlohmann::json::array();
        for (const fs::path& dir : {fs::path(source_dir()) / "scenes", fs::path(default_character_dir()).parent_path() / "scenes"}) {
            boost::system::error_code ec;
            if (dir.empty() || !fs::is_directory(dir, ec) || !data.empty()) continue;
            std::vector<fs::path> files;
            for (const auto& entry : fs::directory_iterator(dir))
                if (entry.path().extension() == ".toml") files.push_back(entry.path());
            std::sort(files.begin(), files.end());
            for (const auto& f : files) {
                std::ifstream in(f.string(), std::ios::binary);
                std::string text((std::istreambuf_iterator<char>(in)), {});
                std::string title;
                try { title = load_scene(f.string()).title; } catch (const Error&) { continue; }
                data.push_back({{"name", f.stem().string()}, {"title", title}, {"script", text}});
            }
        }
        send_json(res, {{"object", "list"}, {"data", data}});
    }));
    http.Post("/v1/scenes", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        const std::string text = script_text(req);
        validate_script(app, text);
        auto job = app.jobs->start(text, [&app](Job& j) { run_job(app, j); });
        if (!job) {
            res.set_header("Retry-After", std::to_string(kRetryAfterSeconds * 5));
            throw HttpError(503, {}, "too many scene jobs are running; retry later", "jobs_full");
        }
        const std::string base = "/v1/scenes/" + job->id();
        send_json(res, {{"id", job->id()}, {"object", "scene.job"}, {"status", job->status()},
                        {"events", base + "/events"}, {"url", base}}, 202);
    }));
    http.Get("/v1/scenes", openai_route([&app](const httplib::Request&, httplib::Response& res) {
        nlohmann::json data = nlohmann::json::array();
        for (auto& job : app.jobs->list()) data.push_back(job->state());
        send_json(res, {{"object", "list"}, {"data", data}});
    }));
    http.Get(R"(/v1/scenes/([A-Za-z0-9-]+))", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        auto job = job_of(app, req);
        nlohmann::json body = job->state();
        std::ifstream in((fs::path(job->dir()) / "manifest.json").string());
        body["manifest"] = in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json(nullptr);
        nlohmann::json files = nlohmann::json::array();
        for (const auto& entry : fs::recursive_directory_iterator(job->dir()))
            if (fs::is_regular_file(entry.path())) {
                std::string rel = fs::relative(entry.path(), job->dir()).generic_string();
                if (rel.size() < 4 || rel.substr(rel.size() - 4) != ".tmp") files.push_back(rel);
            }
        std::sort(files.begin(), files.end());
        body["files"] = files;
        send_json(res, body);
    }));
    http.Post(R"(/v1/scenes/([A-Za-z0-9-]+)/cancel)", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        auto job = job_of(app, req);
        job->cancel = true;
        send_json(res, job->state());
    }));
    http.Get(R"(/v1/scenes/([A-Za-z0-9-]+)/events)", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        auto job = job_of(app, req);
        const long after = last_event_id(req.get_header_value("Last-Event-ID"));
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider("text/event-stream", [&app, job, after](size_t, httplib::DataSink& sink) {
            return stream_events(app, job, after, sink);
        });
    }));
    http.Get(R"(/v1/scenes/([A-Za-z0-9-]+)/files/(.+))", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        auto job = job_of(app, req);
        const std::string file = file_under(job->dir(), req.matches[2]);
        std::ifstream in(file, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), {});
        res.set_content(bytes, content_type(file));
    }));
}

}  // namespace troupe::server
