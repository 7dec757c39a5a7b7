// The scene's files once every line is rendered: the mixed track, subtitles timed from it, the
// script, the manifest (deterministic for a seed), timing.json and the eval summary.
#include "scene_lines.hpp"

#include <troupe/audio.hpp>
#include <troupe/files.hpp>
#include <troupe/eval/line_length.hpp>
#include <troupe/eval/signal_checks.hpp>
#include <troupe/eval/speech_level.hpp>
#include <troupe/status.hpp>

#include <boost/filesystem.hpp>
#include <fmt/format.h>

#include <fstream>
#include <map>

namespace troupe::cli {
namespace fs = boost::filesystem;

namespace {

std::string srt_time(double seconds) {
    auto ms = int64_t(seconds * 1000.0 + 0.5);
    return fmt::format("{:02}:{:02}:{:02},{:03}", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
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

/// mix.wav, subtitles.srt and script.txt; sets each line's start and end in the mix.
double write_mix_and_subtitles(const fs::path& out, const SceneScript& scene, std::vector<SceneLine>& lines) {
    Audio mix;
    mix.sample_rate = kSceneMixRate;
    const size_t pause = size_t(scene.pause_seconds * kSceneMixRate);
    std::string srt, script = "# " + scene.title + "\n\n";
    size_t subtitle = 0;
    for (auto& line : lines) {
        script += fmt::format("{}: {}\n", line.character->name, line.error.empty() ? line.text : "(실패: " + line.error + ")");
        if (!line.error.empty()) continue;
        if (!mix.samples.empty()) mix.samples.insert(mix.samples.end(), pause, 0.0f);
        line.start = double(mix.samples.size()) / kSceneMixRate;
        mix.samples.insert(mix.samples.end(), line.audio.samples.begin(), line.audio.samples.end());
        line.end = double(mix.samples.size()) / kSceneMixRate;
        srt += fmt::format("{}\n{} --> {}\n{}: {}\n\n", ++subtitle, srt_time(line.start), srt_time(line.end),
                           line.character->name, line.text);
    }
    if (mix.samples.empty()) throw Error(Errc::runtime, "no line of the scene could be voiced");
    write_wav((out / "mix.wav").string(), mix);
    write_scene_text((out / "subtitles.srt").string(), srt);
    write_scene_text((out / "script.txt").string(), script);
    return mix.seconds();
}

std::string summary_markdown(const std::string& title, const nlohmann::json& summary, size_t voiced, size_t lines,
                             double mix_seconds) {
    std::string md = fmt::format("# {} — scene summary\n\n| 지표 | 결과 |\n|---|---|\n", title);
    auto pct = [](const nlohmann::json& v) { return v.is_null() ? std::string("n/a") : fmt::format("{:.0f}%", v.get<double>() * 100); };
    md += fmt::format("| lines voiced | {}/{} |\n", voiced, lines);
    md += fmt::format("| format consistency (strict / loose) | {} / {} |\n", pct(summary["format_strict"]), pct(summary["format_loose"]));
    md += fmt::format("| line length in 50–90 | {} |\n", pct(summary["length_in_range"]));
    md += fmt::format("| voice signal checks passed | {} |\n", pct(summary["signal_ok"]));
    for (auto& t : summary["speech_level_match_by_turn"])
        md += fmt::format("| speech level as declared, turn {} | {} |\n", t["turn"].get<int>(), pct(t["speech_level_match"]));
    md += fmt::format("| mixed track | {:.1f} s |\n\nLatency per line and model load time: timing.json.\n", mix_seconds);
    return md;
}

}  // namespace

void write_scene_text(const std::string& path, const std::string& text) { write_file_atomic(path, text); }

nlohmann::json write_scene_outputs(const std::string& out_dir, const SceneScript& scene,
                                   std::vector<SceneLine>& lines, const nlohmann::json& backends,
                                   double load_seconds, double& mix_seconds) {
    const fs::path out = out_dir;
    mix_seconds = write_mix_and_subtitles(out, scene, lines);

    nlohmann::json manifest_lines = nlohmann::json::array(), timing = nlohmann::json::array();
    std::map<size_t, std::pair<size_t, size_t>> level_by_turn;  // turn of a character -> (matches, lines)
    std::map<std::string, size_t> turns;
    size_t generated = 0, strict_ok = 0, loose_ok = 0, in_range = 0, voiced = 0, signal_ok = 0;
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
            const auto signal = eval::check_signal(line.original);
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
        }
        if (line.beat.group) entry["parallel_group"] = line.beat.group;
        if (!line.beat.answers.empty()) entry["answers"] = line.beat.answers;
        manifest_lines.push_back(entry);
        timing.push_back({{"index", line.index + 1}, {"text_seconds", line.text_seconds},
                          {"speech_seconds", line.speech_seconds}});
        if (line.batch) timing.back()["batch"] = line.batch;
    }
    nlohmann::json per_turn = nlohmann::json::array();
    for (auto& [turn, t] : level_by_turn)
        per_turn.push_back({{"turn", turn + 1}, {"lines", t.second}, {"speech_level_match", double(t.first) / t.second}});
    auto share = [](size_t k, size_t n) { return n ? nlohmann::json(double(k) / double(n)) : nlohmann::json(nullptr); };
    nlohmann::json summary = {
        {"lines", lines.size()}, {"generated", generated}, {"voiced", voiced},
        {"format_strict", share(strict_ok, generated)}, {"format_loose", share(loose_ok, generated)},
        {"length_in_range", share(in_range, voiced)}, {"signal_ok", share(signal_ok, voiced)},
        {"speech_level_match_by_turn", per_turn}, {"mix_seconds", mix_seconds}};
    nlohmann::json manifest = {{"title", scene.title}, {"script", fs::absolute(scene.path).string()},
                               {"seed", scene.seed}, {"cast", scene.cast}, {"sample_rate", kSceneMixRate},
                               {"backends", backends}, {"lines", manifest_lines}, {"summary", summary}};
    // Wall-clock figures differ between runs, so they live apart from the deterministic files.
    write_scene_text((out / "timing.json").string(),
                     nlohmann::json{{"load_seconds", load_seconds}, {"lines", timing}}.dump(2) + "\n");
    write_scene_text((out / "summary.md").string(), summary_markdown(scene.title, summary, voiced, lines.size(), mix_seconds));
    write_scene_text((out / "manifest.json").string(), manifest.dump(2) + "\n");  // last: marks a finished scene
    return manifest;
}

}  // namespace troupe::cli
