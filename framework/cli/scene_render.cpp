#include "scene_render.hpp"

#include "scene_lines.hpp"

#include <troupe/audio.hpp>
#include <troupe/request.hpp>
#include <troupe/text.hpp>

#include <boost/filesystem.hpp>
#include <fmt/format.h>

#include <chrono>
#include <set>

namespace troupe::cli {
namespace fs = boost::filesystem;

namespace {

constexpr size_t kHistoryLines = 2;  // earlier lines quoted in each prompt

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The situation as the model sees it: the beat's situation plus the last lines of the scene.
std::string situation_in_context(const SceneBeat& beat, const std::string& fallback,
                                 const std::vector<SceneLine>& done) {
    std::string situation = trim(beat.situation).empty() ? fallback : beat.situation;
    std::vector<std::string> quoted;
    for (size_t i = done.size() > kHistoryLines ? done.size() - kHistoryLines : 0; i < done.size(); ++i)
        if (!done[i].text.empty()) quoted.push_back(done[i].character->name + ": \"" + done[i].text + "\"");
    if (quoted.empty()) return situation;
    std::string joined;
    for (const auto& q : quoted) joined += (joined.empty() ? "" : " ") + q;
    return situation + " (앞선 대화: " + joined + ")";
}

/// Token sink of scene generations: stops a line as soon as the scene is cancelled.
bool keep_generating(void* user, const std::string&) {
    const auto* progress = static_cast<const SceneProgress*>(user);
    return !(progress->cancelled && progress->cancelled());
}

nlohmann::json line_event(const SceneLine& line) {
    return {{"index", line.index + 1}, {"character", line.character->id}, {"name", line.character->name}};
}

void emit(const std::function<void(const nlohmann::json&)>& f, const nlohmann::json& event) {
    if (f) f(event);
}

struct Renderer {
    const Host& host;
    CastBackends& backends;
    const SceneProgress& progress;
    int max_new_tokens;

    std::function<bool()> give_up() const {
        return progress.cancelled ? progress.cancelled : std::function<bool()>{};
    }
    void check_cancelled() const {
        if (progress.cancelled && progress.cancelled()) throw Error(Errc::cancelled, "the scene was cancelled");
    }

    void generate(SceneLine& line, const std::string& situation) {
        const Character& c = *line.character;
        RequestOptions options;
        options.seed = line.seed;
        if (max_new_tokens > 0) options.max_new_tokens = max_new_tokens;
        TextRequest request;
        try {  // a failing hook fails this line, not the scene; the adapter is loaded by CastBackends
            request = make_text_request(host, c, nullptr, {situation, line.beat.action, {}}, options);
        } catch (const Error& e) {
            line.error = std::string("text: ") + e.what();
            return;
        }
        line.prompt = request.prompt;
        auto& text = backends.text(c);
        auto ticket = text.queue->enter();
        if (!ticket->wait_turn(give_up())) throw Error(Errc::cancelled, "the scene was cancelled");
        TextResult result;
        Status s = text.backend->generate(request, result, &keep_generating,
                                          const_cast<SceneProgress*>(&progress));
        ticket.reset();
        if (s && result.stop == StopReason::cancelled) throw Error(Errc::cancelled, "the scene was cancelled");
        if (s) s = finish_line(host, c, result.text);
        line.text_seconds = result.seconds;
        if (!s) {
            line.error = "text: " + s.message();
            return;
        }
        line.stop = to_string(result.stop);
        eval::FormatSpec spec;
        spec.speaker_tags = {c.name};
        line.format = eval::check_format(result.text, result.stop, spec);
        line.text = line.format.cleaned;
        if (trim(line.text).empty()) line.error = "text: the backend produced an empty line";
    }

    void voice(SceneLine& line, const fs::path& out) {
        const Character& c = *line.character;
        const SpeechRequest request = make_speech_request(c, line.text, line.beat.emotion, line.seed);
        auto& speech = backends.speech(c);
        auto ticket = speech.queue->enter();
        if (!ticket->wait_turn(give_up())) throw Error(Errc::cancelled, "the scene was cancelled");
        const auto start = std::chrono::steady_clock::now();
        Status s = speech.backend->synthesize(request, line.original);
        line.speech_seconds = seconds_since(start);
        ticket.reset();
        if (!s) {
            line.error = "speech: " + s.message();
            return;
        }
        line.audio = resample(line.original, kSceneMixRate);
        line.wav = fmt::format("lines/{:02}_{}.wav", line.index + 1, c.id);
        write_wav((out / line.wav).string(), line.audio);
    }
};

}  // namespace

SceneRenderResult render_scene(const Host& host, CastBackends& backends, const SceneScript& scene,
                               const SceneRenderOptions& options, const SceneProgress& progress) {
    const fs::path out = options.out_dir;
    fs::create_directories(out / "lines");
    const uint64_t seed = options.seed >= 0 ? uint64_t(options.seed) : scene.seed;
    std::map<std::string, const Character*> cast;
    for (const auto& id : scene.cast) cast[id] = &host.character(id);

    // Backends load once, before the first line; their load time goes to timing.json.
    const auto load_start = std::chrono::steady_clock::now();
    for (auto& [id, c] : cast) {
        bool needs_text = false;
        for (const auto& b : scene.beats) needs_text |= b.speaker == id && b.line.empty();
        if (needs_text) backends.text(*c);
        backends.speech(*c);
    }
    const double load_seconds = seconds_since(load_start);

    Renderer renderer{host, backends, progress, options.max_new_tokens};
    std::vector<SceneLine> lines;
    std::string last_situation;
    for (size_t i = 0; i < scene.beats.size(); ++i) {
        renderer.check_cancelled();
        SceneLine line;
        line.index = i;
        line.beat = scene.beats[i];
        line.character = cast.at(line.beat.speaker);
        line.seed = seed * 1000003u + i;
        if (!trim(line.beat.situation).empty()) last_situation = line.beat.situation;
        emit(progress.line_started, line_event(line));
        if (!line.beat.line.empty()) {
            line.fixed = true;
            line.text = line.beat.line;
            line.stop = "fixed";
        } else {
            renderer.generate(line, situation_in_context(line.beat, last_situation, lines));
        }
        if (line.error.empty()) {
            nlohmann::json event = line_event(line);
            event["text"] = line.text;
            event["stop"] = line.stop;
            emit(progress.text_ready, event);
            renderer.check_cancelled();
            renderer.voice(line, out);
        }
        if (line.error.empty()) {
            nlohmann::json event = line_event(line);
            event["text"] = line.text;
            event["wav"] = line.wav;
            event["seconds"] = line.audio.seconds();
            emit(progress.audio_ready, event);
        } else {
            host.log(LogLevel::warn, fmt::format("line {} ({}): {}", i + 1, line.character->id, line.error));
            nlohmann::json event = line_event(line);
            event["error"] = line.error;
            emit(progress.line_failed, event);
        }
        lines.push_back(std::move(line));
    }

    nlohmann::json described = nlohmann::json::object();
    std::set<std::string> text_keys;
    for (const auto& line : lines) {
        const Character& c = *line.character;
        if (!line.fixed && text_keys.insert(backends.text(c).key).second)
            described["text"].push_back(backends.text(c).backend->describe());
        described["speech"][c.speech_backend] = backends.speech(c).backend->describe();
    }
    SceneScript effective = scene;
    effective.seed = seed;
    SceneRenderResult result;
    result.manifest = write_scene_outputs(out.string(), effective, lines, described, load_seconds, result.mix_seconds);
    result.lines = lines.size();
    for (const auto& line : lines) result.voiced += line.error.empty();
    return result;
}

}  // namespace troupe::cli
