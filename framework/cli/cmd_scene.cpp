// troupe scene SCRIPT [--out DIR] [--seed N]: the main job. Generates each beat's line with the scene so
// far in context, voices it, and writes one WAV per line, a mixed track, subtitles, the script, a
// manifest and a short eval summary.
#include "command.hpp"

#include <troupe/audio.hpp>
#include <troupe/files.hpp>
#include <troupe/request.hpp>
#include <troupe/eval/format.hpp>
#include <troupe/eval/line_length.hpp>
#include <troupe/eval/signal_checks.hpp>
#include <troupe/eval/speech_level.hpp>
#include <troupe/scene.hpp>
#include <troupe/text.hpp>

#include <boost/filesystem.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <fstream>

namespace troupe::cli {
namespace po = boost::program_options;
namespace fs = boost::filesystem;

namespace {

constexpr int kMixRate = 22050;
constexpr size_t kHistoryLines = 2;  // earlier lines quoted in each prompt

struct SceneLine {
    size_t index = 0;
    const Character* character = nullptr;
    SceneBeat beat;
    std::string prompt, text, stop, error;
    uint64_t seed = 0;
    bool fixed = false;
    double text_seconds = 0, speech_seconds = 0;
    double start = 0, end = 0;  // in the mixed track
    Audio audio;
    eval::FormatResult format;
    std::string wav;
};

std::string srt_time(double seconds) {
    auto ms = int64_t(seconds * 1000.0 + 0.5);
    return fmt::format("{:02}:{:02}:{:02},{:03}", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

void write_text(const fs::path& path, const std::string& text) { write_file_atomic(path.string(), text); }

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

bool level_matches(SpeechLevel declared, eval::Level found) {
    switch (declared) {
        case SpeechLevel::hasipsio: return found == eval::Level::hasipsio || found == eval::Level::haeyo;
        case SpeechLevel::haeyo: return found == eval::Level::haeyo || found == eval::Level::hasipsio;
        case SpeechLevel::banmal: return found == eval::Level::banmal;
        case SpeechLevel::mixed: return found != eval::Level::ambiguous;
    }
    return false;
}


/// One backend object per plugin, shared by the cast; adapters are chosen per line.
struct SceneBackends {
    std::map<std::string, std::shared_ptr<TextBackend>> text;  // by plugin + its parameters
    std::map<std::string, std::shared_ptr<SpeechBackend>> speech;
    double load_seconds = 0;
    TextBackend& text_for(const Character& c) { return *text.at(c.text_backend + nlohmann::json(c.text_params).dump()); }
};

SceneBackends load_backends(const Host& host, const SceneScript& scene,
                            const std::map<std::string, const Character*>& cast) {
    SceneBackends b;
    const auto load_start = std::chrono::steady_clock::now();
    for (auto& [id, c] : cast) {
        bool needs_text = false;
        for (const auto& beat : scene.beats) needs_text |= beat.speaker == id && beat.line.empty();
        if (needs_text) {
            const std::string key = c->text_backend + nlohmann::json(c->text_params).dump();
            auto& backend = b.text[key];
            if (!backend) backend = host.create_as<TextBackend>(c->text_backend, PluginKind::text_backend, c->text_params);
            if (!c->adapter.empty()) {
                Status s = backend->load_adapter(c->id, c->adapter);
                if (!s) throw Error(s.code(), c->manifest_path + ": adapter: " + s.message());
            }
        }
        auto& voice = b.speech[c->speech_backend];
        if (!voice) voice = host.create_as<SpeechBackend>(c->speech_backend, PluginKind::speech_backend);
    }
    b.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    return b;
}

/// Beat `i`: its line (fixed, or generated through the request path with the scene so far in the
/// situation) and its audio. A failure is recorded in the line's `error`, not thrown.
SceneLine make_line(const Host& host, SceneBackends& backends, const SceneScript& scene, size_t i,
                    const std::map<std::string, const Character*>& cast, std::string& last_situation,
                    const std::vector<SceneLine>& lines, int max_new_tokens) {
    SceneLine line;
    line.index = i;
    line.beat = scene.beats[i];
    line.character = cast.at(line.beat.speaker);
    line.seed = scene.seed * 1000003u + i;
    const Character& c = *line.character;
    if (!trim(line.beat.situation).empty()) last_situation = line.beat.situation;

    if (!line.beat.line.empty()) {
        line.fixed = true;
        line.text = line.beat.line;
        line.stop = "fixed";
    } else {
        TextBackend& backend = backends.text_for(c);
        RequestOptions ro;
        ro.seed = line.seed;
        if (max_new_tokens > 0) ro.max_new_tokens = max_new_tokens;
        TextResult result;
        Status s;
        try {  // a failing hook fails this line, not the scene
            const TextRequest request = make_text_request(
                host, c, &backend, {situation_in_context(line.beat, last_situation, lines), line.beat.action, {}}, ro);
            line.prompt = request.prompt;
            s = backend.generate(request, result, nullptr, nullptr);
        } catch (const Error& e) {
            s = e.status();
        }
        if (s) s = finish_line(host, c, result.text);
        line.text_seconds = result.seconds;
        if (!s) {
            line.error = "text: " + s.message();
        } else {
            line.stop = to_string(result.stop);
            eval::FormatSpec spec;
            spec.speaker_tags = {c.name};
            line.format = eval::check_format(result.text, result.stop, spec);
            line.text = line.format.cleaned;
            if (trim(line.text).empty()) line.error = "text: the backend produced an empty line";
        }
    }
    if (line.error.empty()) {
        const SpeechRequest request = make_speech_request(c, line.text, line.beat.emotion, line.seed);
        auto start = std::chrono::steady_clock::now();
        Status s = backends.speech.at(c.speech_backend)->synthesize(request, line.audio);
        line.speech_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (!s) line.error = "speech: " + s.message();
    }
    return line;
}

/// One WAV per line and the mixed track, all at one rate; subtitles timed from the audio; the script.
Audio write_audio(const fs::path& out, const SceneScript& scene, std::vector<SceneLine>& lines) {
    Audio mix;
    mix.sample_rate = kMixRate;
    const size_t pause = size_t(scene.pause_seconds * kMixRate);
    std::string srt, script = "# " + scene.title + "\n\n";
    size_t subtitle = 0;
    for (auto& line : lines) {
        script += fmt::format("{}: {}\n", line.character->name, line.error.empty() ? line.text : "(실패: " + line.error + ")");
        if (!line.error.empty()) continue;
        Audio audio = resample(line.audio, kMixRate);
        line.wav = fmt::format("lines/{:03}_{}.wav", line.index + 1, line.character->id);  // ≤ 200 beats: sorts by name
        write_wav((out / line.wav).string(), audio);
        if (!mix.samples.empty()) mix.samples.insert(mix.samples.end(), pause, 0.0f);
        line.start = double(mix.samples.size()) / kMixRate;
        mix.samples.insert(mix.samples.end(), audio.samples.begin(), audio.samples.end());
        line.end = double(mix.samples.size()) / kMixRate;
        srt += fmt::format("{}\n{} --> {}\n{}: {}\n\n", ++subtitle, srt_time(line.start), srt_time(line.end),
                           line.character->name, line.text);
    }
    if (mix.samples.empty()) throw Error(Errc::runtime, "no line of the scene could be voiced");
    write_wav((out / "mix.wav").string(), mix);
    write_text(out / "subtitles.srt", srt);
    write_text(out / "script.txt", script);
    return mix;
}

/// manifest.json (deterministic for a seed), timing.json and summary.md; returns the summary.
nlohmann::json write_manifest(const fs::path& out, const SceneScript& scene, const std::string& script_path,
                              const std::vector<SceneLine>& lines, const SceneBackends& loaded, const Audio& mix) {
    const auto& text_backends = loaded.text;
    const auto& speech_backends = loaded.speech;
    const double load_seconds = loaded.load_seconds;
    nlohmann::json manifest_lines = nlohmann::json::array(), timing = nlohmann::json::array();
    std::map<size_t, std::pair<size_t, size_t>> level_by_turn;  // turn of a character -> (matches, lines)
    std::map<std::string, size_t> turns;
    size_t generated = 0, strict_ok = 0, loose_ok = 0, in_range = 0, voiced = 0, signal_ok = 0;
    std::vector<double> text_latency;
    for (const auto& line : lines) {
        const Character& c = *line.character;
        const size_t turn = turns[c.id]++;
        nlohmann::json entry = {{"index", line.index + 1}, {"character", c.id}, {"name", c.name},
                                {"text", line.text}, {"fixed", line.fixed}, {"seed", line.seed},
                                {"situation", line.beat.situation}, {"action", line.beat.action},
                                {"emotion", line.beat.emotion}, {"turn_of_character", turn + 1},
                                {"stop", line.stop}, {"error", line.error},
                                {"text_backend", c.text_backend}, {"adapter", c.adapter},
                                {"speech_backend", c.speech_backend}, {"wav", line.wav},
                                {"start", line.start}, {"end", line.end}};
        if (line.error.empty()) {
            ++voiced;
            const auto level = eval::count_levels({line.text}).dominant();
            entry["speech_level"] = eval::level_key(level);
            auto& t = level_by_turn[turn];
            t.first += level_matches(c.speech_level, level);
            ++t.second;
            const double length = double(eval::line_length(line.text).with_spaces);
            entry["length"] = length;
            in_range += length >= c.min_line_chars && length <= c.max_line_chars;
            const auto signal = eval::check_signal(line.audio);
            entry["signal_ok"] = signal.flags.empty();
            entry["signal_flags"] = signal.flags;
            signal_ok += signal.flags.empty();
        }
        if (!line.fixed && line.error.find("text:") != 0) {
            ++generated;
            strict_ok += line.format.strict();
            loose_ok += line.format.loose();
            entry["format_strict"] = line.format.strict();
            entry["format_loose"] = line.format.loose();
            text_latency.push_back(line.text_seconds);
        }
        manifest_lines.push_back(entry);
        timing.push_back({{"index", line.index + 1}, {"text_seconds", line.text_seconds},
                          {"speech_seconds", line.speech_seconds}});
    }
    nlohmann::json backends = nlohmann::json::object();
    for (auto& [key, b] : text_backends) backends["text"].push_back(b->describe());
    for (auto& [name, b] : speech_backends) backends["speech"][name] = b->describe();
    nlohmann::json per_turn = nlohmann::json::array();
    for (auto& [turn, t] : level_by_turn)
        per_turn.push_back({{"turn", turn + 1}, {"lines", t.second}, {"speech_level_match", double(t.first) / t.second}});
    auto share = [](size_t k, size_t n) { return n ? nlohmann::json(double(k) / double(n)) : nlohmann::json(nullptr); };
    nlohmann::json summary = {
        {"lines", lines.size()}, {"generated", generated}, {"voiced", voiced},
        {"format_strict", share(strict_ok, generated)}, {"format_loose", share(loose_ok, generated)},
        {"length_in_range", share(in_range, voiced)}, {"signal_ok", share(signal_ok, voiced)},
        {"speech_level_match_by_turn", per_turn}, {"mix_seconds", mix.seconds()}};
    nlohmann::json manifest = {{"title", scene.title}, {"script", fs::absolute(script_path).string()},
                               {"seed", scene.seed}, {"cast", scene.cast}, {"sample_rate", kMixRate},
                               {"backends", backends}, {"lines", manifest_lines}, {"summary", summary}};
    // Wall-clock figures differ between runs, so they live apart from the deterministic files.
    write_text(out / "timing.json",
               nlohmann::json{{"load_seconds", load_seconds}, {"lines", timing}}.dump(2) + "\n");

    std::string md = fmt::format("# {} — scene summary\n\n| 지표 | 결과 |\n|---|---|\n", scene.title);
    auto pct = [](const nlohmann::json& v) { return v.is_null() ? std::string("n/a") : fmt::format("{:.0f}%", v.get<double>() * 100); };
    md += fmt::format("| lines voiced | {}/{} |\n", voiced, lines.size());
    md += fmt::format("| format consistency (strict / loose) | {} / {} |\n", pct(summary["format_strict"]), pct(summary["format_loose"]));
    md += fmt::format("| line length in 50–90 | {} |\n", pct(summary["length_in_range"]));
    md += fmt::format("| voice signal checks passed | {} |\n", pct(summary["signal_ok"]));
    for (auto& t : per_turn)
        md += fmt::format("| speech level as declared, turn {} | {} |\n", t["turn"].get<int>(), pct(t["speech_level_match"]));
    md += fmt::format("| mixed track | {:.1f} s |\n\nLatency per line and model load time: timing.json.\n", mix.seconds());
    write_text(out / "summary.md", md);
    write_text(out / "manifest.json", manifest.dump(2) + "\n");  // last: its presence marks a finished scene
    return summary;
}

}  // namespace

int cmd_scene(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe scene options");
    std::string script_path, out_dir;
    int64_t seed = -1;
    int max_new_tokens = 0;
    options.add_options()("script", po::value(&script_path)->required(), "scene script (scenes/*.toml)")(
        "out,o", po::value(&out_dir), "output folder (default: out/scenes/<script name>)")(
        "seed", po::value(&seed), "scene seed (default: the script's)")(
        "max-new-tokens", po::value(&max_new_tokens), "token limit per line (default: the character's)");
    po::positional_options_description positional;
    positional.add("script", 1);
    po::variables_map vm;
    if (!parse_options("troupe scene SCRIPT [--out DIR] [--seed N] [--json]", options, args, vm, &positional)) return 0;
    check_generation_options(vm, seed, max_new_tokens);

    SceneScript scene = load_scene(script_path);
    if (vm.count("seed")) scene.seed = uint64_t(seed);
    if (out_dir.empty()) out_dir = "out/scenes/" + fs::path(script_path).stem().string();
    const fs::path out = fs::absolute(out_dir);
    if (fs::exists(out) && !fs::is_directory(out))
        throw Error(Errc::invalid_argument, "--out " + out_dir + ": is a file; the scene needs a folder");
    fs::create_directories(out / "lines");
    // One scene per folder at a time (a second run is refused, not interleaved); then the folder is
    // cleared of an earlier scene's files so that it ends up holding exactly this one.
    DirLock lock(out.string(), ".troupe-scene.lock", "troupe scene");
    clear_scene_folder(out);

    HostOptions host_options = global.host;
    host_options.load_plugins = false;  // only the plugins this command uses are loaded (Host::create)
    Host host(host_options);
    std::map<std::string, const Character*> cast;
    for (const auto& id : scene.cast) cast[id] = &host.character(id);

    SceneBackends backends = load_backends(host, scene, cast);

    std::vector<SceneLine> lines;
    std::string last_situation;
    double voiced_seconds = 0;
    Progress progress("scene", scene.beats.size(), !global.quiet && !global.json);
    for (size_t i = 0; i < scene.beats.size(); ++i) {
        if (Host::interrupted()) throw Error(Errc::cancelled, "interrupted");
        SceneLine line = make_line(host, backends, scene, i, cast, last_situation, lines, max_new_tokens);
        voiced_seconds += line.audio.seconds() + scene.pause_seconds;
        if (voiced_seconds > kMaxMixSeconds)
            throw Error(Errc::invalid_argument,
                        fmt::format("{}: the scene's audio passes {:.0f} s at line {} ({}); a mixed track is at most "
                                    "{:.0f} s — shorten or split the scene",
                                    script_path, voiced_seconds, i + 1, line.character->id, kMaxMixSeconds));
        if (!line.error.empty())
            host.log(LogLevel::warn, fmt::format("line {} ({}): {}", i + 1, line.character->id, line.error));
        lines.push_back(std::move(line));
        progress.step();
    }
    progress.done();

    const Audio mix = write_audio(out, scene, lines);
    const nlohmann::json summary = write_manifest(out, scene, script_path, lines, backends, mix);
    size_t voiced = 0;
    for (const auto& line : lines) voiced += line.error.empty();
    if (global.json)
        print_json(nlohmann::json{{"out", out.string()}, {"summary", summary}}.dump(2));
    else if (!global.quiet)
        fmt::print("scene '{}': {} of {} lines voiced, {:.1f} s mixed → {}\n", scene.title, voiced, lines.size(),
                   mix.seconds(), out.string());
    return voiced == lines.size() ? 0 : 1;
}

}  // namespace troupe::cli
