#include "scene_render.hpp"

#include "scene_lines.hpp"

#include <troupe/audio.hpp>
#include <troupe/files.hpp>
#include <troupe/request.hpp>
#include <troupe/text.hpp>

#include <boost/filesystem.hpp>
#include <fmt/format.h>

#include <cctype>
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

namespace troupe::cli {
namespace fs = boost::filesystem;

namespace {

constexpr size_t kHistoryLines = 2;  // earlier lines quoted in each prompt
constexpr double kMaxMixSeconds = 3600;  // the mixed track of one scene: at most an hour

/// The files a scene writes into its folder; manifest.json is written last, so a folder without it
/// holds an unfinished scene.
const char* const kSceneFiles[] = {"mix.wav", "subtitles.srt", "script.txt", "summary.md", "timing.json", "manifest.json"};

bool is_line_wav(const std::string& name) {
    const auto underscore = name.find('_');
    if (underscore == std::string::npos || underscore == 0 || name.size() < 5 ||
        name.compare(name.size() - 4, 4, ".wav") != 0)
        return false;
    for (size_t i = 0; i < underscore; ++i)
        if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    return true;
}

/// Removes what an earlier (finished or killed) scene left in `out`: its line WAVs, its outputs and
/// temporary files, so the folder ends up holding exactly this scene. Other files are left alone.
void clear_scene_folder(const fs::path& out) {
    for (const char* name : kSceneFiles) {
        fs::remove(out / name);
        fs::remove(out / (std::string(name) + ".tmp"));
    }
    for (auto& entry : fs::directory_iterator(out / "lines")) {
        const std::string name = entry.path().filename().string();
        const std::string base = name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0
                                     ? name.substr(0, name.size() - 4) : name;
        if (is_line_wav(base) && fs::is_regular_file(entry.path())) fs::remove(entry.path());
    }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The situation as the model sees it: the beat's situation plus the last lines of the scene (and,
/// when the beat `answers` someone, that character's latest line if it is not among them). `done` is
/// what the line can see: for a parallel group, the scene before the group.
std::string situation_in_context(const SceneBeat& beat, const std::string& fallback,
                                 const std::vector<SceneLine>& done) {
    std::string situation = trim(beat.situation).empty() ? fallback : beat.situation;
    const size_t first = done.size() > kHistoryLines ? done.size() - kHistoryLines : 0;
    std::vector<size_t> quoted;
    if (!beat.answers.empty())
        for (size_t i = done.size(); i-- > 0;)
            if (done[i].character->id == beat.answers && !done[i].text.empty()) {
                if (i < first) quoted.push_back(i);
                break;
            }
    for (size_t i = first; i < done.size(); ++i)
        if (!done[i].text.empty()) quoted.push_back(i);
    if (quoted.empty()) return situation;
    std::string joined;
    for (size_t i : quoted) joined += (joined.empty() ? "" : " ") + done[i].character->name + ": \"" + done[i].text + "\"";
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
    size_t batch_size;

    std::function<bool()> give_up() const {
        return progress.cancelled ? progress.cancelled : std::function<bool()>{};
    }
    void check_cancelled() const {
        if (progress.cancelled && progress.cancelled()) throw Error(Errc::cancelled, "the scene was cancelled");
    }

    /// The line's text request through the shared request path; false (line.error set) when the
    /// character's hooks refuse it. The adapter is loaded by CastBackends.
    bool prepare(SceneLine& line, const std::string& situation, TextRequest& request) {
        RequestOptions options;
        options.seed = line.seed;
        if (max_new_tokens > 0) options.max_new_tokens = max_new_tokens;
        try {  // a failing hook fails this line, not the scene
            request = make_text_request(host, *line.character, nullptr, {situation, line.beat.action, {}}, options);
        } catch (const Error& e) {
            line.error = std::string("text: ") + e.what();
            return false;
        }
        line.prompt = request.prompt;
        return true;
    }

    /// Takes a generation's outcome into the line: the hooks' after_generate, the format check.
    void finish(SceneLine& line, Status s, TextResult& result) {
        const Character& c = *line.character;
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

    /// One line alone, streamed (so that a cancelled scene stops mid-line).
    void generate_one(SceneLine& line, const TextRequest& request) {
        auto& text = backends.text(*line.character);
        auto ticket = text.queue->enter();
        if (!ticket->wait_turn(give_up())) throw Error(Errc::cancelled, "the scene was cancelled");
        TextResult result;
        Status s = text.backend->generate(request, result, &keep_generating, const_cast<SceneProgress*>(&progress));
        ticket.reset();
        finish(line, s, result);
    }

    void generate(SceneLine& line, const std::string& situation) {
        TextRequest request;
        if (prepare(line, situation, request)) generate_one(line, request);
    }

    /// The generated lines of a parallel group: per text backend, in batches of at most batch_size
    /// rows when the backend offers BatchTextBackend, else one by one. A batch that fails as a whole
    /// is retried line by line, so that one bad request fails only its own line.
    void generate_together(std::vector<SceneLine*>& lines, const std::vector<std::string>& situations) {
        std::vector<std::string> keys;  // text backends in order of first use
        std::map<std::string, std::vector<std::pair<SceneLine*, TextRequest>>> by_key;
        for (size_t i = 0; i < lines.size(); ++i) {
            TextRequest request;
            if (!prepare(*lines[i], situations[i], request)) continue;
            const std::string& key = backends.text(*lines[i]->character).key;
            if (!by_key.count(key)) keys.push_back(key);
            by_key[key].emplace_back(lines[i], std::move(request));
        }
        for (const std::string& key : keys) {
            auto& rows = by_key[key];
            auto& text = backends.text(*rows.front().first->character);
            const bool batched = batch_size > 1 && dynamic_cast<BatchTextBackend*>(text.backend.get()) != nullptr;
            for (size_t from = 0; from < rows.size(); from += batched ? batch_size : 1) {
                check_cancelled();
                const size_t n = batched ? std::min(batch_size, rows.size() - from) : 1;
                if (n == 1) {
                    generate_one(*rows[from].first, rows[from].second);
                    continue;
                }
                std::vector<TextRequest> requests;
                for (size_t k = from; k < from + n; ++k) requests.push_back(rows[k].second);
                auto ticket = text.queue->enter();
                if (!ticket->wait_turn(give_up())) throw Error(Errc::cancelled, "the scene was cancelled");
                std::vector<TextResult> results;
                const Status s = generate_batch(*text.backend, requests, results);
                ticket.reset();
                check_cancelled();
                if (!s || results.size() != n) {
                    host.log(LogLevel::warn, "batch of " + std::to_string(n) + " lines failed (" + s.message() +
                                                 "); generating them one by one");
                    for (size_t k = from; k < from + n; ++k) generate_one(*rows[k].first, rows[k].second);
                    continue;
                }
                for (size_t k = 0; k < n; ++k) {
                    rows[from + k].first->batch = n;
                    finish(*rows[from + k].first, s, results[k]);
                }
            }
        }
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
        line.wav = fmt::format("lines/{:03}_{}.wav", line.index + 1, c.id);  // ≤ 200 beats: sorts by name
        write_wav((out / line.wav).string(), line.audio);
    }
};

}  // namespace

SceneRenderResult render_scene(const Host& host, CastBackends& backends, const SceneScript& scene,
                               const SceneRenderOptions& options, const SceneProgress& progress) {
    const fs::path out = options.out_dir;
    if (fs::exists(out) && !fs::is_directory(out))
        throw Error(Errc::invalid_argument, out.string() + ": is a file; the scene needs a folder");
    fs::create_directories(out / "lines");
    // One scene per folder at a time (a second run is refused, not interleaved); then the folder is
    // cleared of an earlier scene's files so that it ends up holding exactly this one.
    DirLock lock(out.string(), ".troupe-scene.lock", "troupe scene");
    clear_scene_folder(out);
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

    if (options.batch_size < 1 || options.batch_size > kMaxSceneBatch)
        throw Error(Errc::invalid_argument, fmt::format("the batch size is {}; it must be 1–{}", options.batch_size, kMaxSceneBatch));
    Renderer renderer{host, backends, progress, options.max_new_tokens, options.batch_size};
    std::vector<SceneLine> lines;
    std::string last_situation;
    double voiced_seconds = 0;
    for (size_t begin = 0; begin < scene.beats.size();) {
        // A beat alone, or a parallel group: its lines see the scene as it stood before the group.
        size_t end = begin + 1;
        if (scene.beats[begin].group)
            while (end < scene.beats.size() && scene.beats[end].group == scene.beats[begin].group) ++end;
        renderer.check_cancelled();
        std::vector<SceneLine> group(end - begin);
        std::vector<SceneLine*> generated;
        std::vector<std::string> situations;
        for (size_t i = begin; i < end; ++i) {
            SceneLine& line = group[i - begin];
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
                generated.push_back(&line);
                situations.push_back(situation_in_context(line.beat, last_situation, lines));
            }
        }
        if (generated.size() == 1) renderer.generate(*generated.front(), situations.front());
        else if (!generated.empty()) renderer.generate_together(generated, situations);
        for (SceneLine& line : group) {
            const size_t i = line.index;
            if (line.error.empty()) {
                nlohmann::json event = line_event(line);
                event["text"] = line.text;
                event["stop"] = line.stop;
                emit(progress.text_ready, event);
                renderer.check_cancelled();
                renderer.voice(line, out);
                voiced_seconds += line.audio.seconds() + scene.pause_seconds;
                if (voiced_seconds > kMaxMixSeconds)
                    throw Error(Errc::invalid_argument,
                                fmt::format("{}: the scene's audio passes {:.0f} s at line {} ({}); a mixed track is at "
                                            "most {:.0f} s — shorten or split the scene",
                                            scene.path, voiced_seconds, i + 1, line.character->id, kMaxMixSeconds));
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
        begin = end;
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
