#include <troupe/toml_reader.hpp>

#include <troupe/scene.hpp>
#include <troupe/text.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace troupe {

namespace {
// Limits of a scene script (docs/scene-script.md, docs/cli.md "Limits").
constexpr size_t kMaxBeats = 200, kMaxCast = 50, kMaxLineChars = 1000, kMaxSituationChars = 2000, kMaxTitleChars = 200;

void check_length(detail::TableReader& r, const std::string& key, const std::string& value, size_t max) {
    if (!utf8_valid(value)) r.fail_key(key, "is not valid UTF-8");
    if (utf8_length(value) > max)
        r.fail_key(key, fmt::format("is {} characters; at most {}", utf8_length(value), max));
}
/// `answers` names a cast member with a line before this beat that the beat can see (not one of its
/// own parallel group, whose lines are generated together with it).
void check_answers(detail::TableReader& r, const SceneScript& scene, const SceneBeat& beat) {
    if (beat.answers.empty()) return;
    if (std::find(scene.cast.begin(), scene.cast.end(), beat.answers) == scene.cast.end())
        r.fail_key("answers", "'" + beat.answers + "' is not in the cast");
    for (size_t j = scene.beats.size(); j-- > 0;) {
        if (scene.beats[j].speaker != beat.answers) continue;
        if (beat.group && scene.beats[j].group == beat.group)
            r.fail_key("answers", fmt::format("'{}' speaks at beat {} in the same parallel group; lines of a parallel "
                                              "group do not see each other — move this beat after the group or drop "
                                              "its `parallel`", beat.answers, j + 1));
        return;
    }
    r.fail_key("answers", "'" + beat.answers + "' has no line before this beat");
}

}  // namespace

namespace {
SceneScript scene_from_table(const std::string& path, const toml::table& table) {
    detail::TableReader top(path, table);
    SceneScript scene;
    scene.path = path;
    scene.title = top.string("title", true);
    check_length(top, "title", scene.title, kMaxTitleChars);
    scene.cast = top.strings("cast");
    if (scene.cast.empty()) top.fail_key("cast", "must list at least one character id");
    if (scene.cast.size() > kMaxCast) top.fail_key("cast", fmt::format("must list at most {} characters", kMaxCast));
    scene.seed = uint64_t(top.integer("seed", 0, 0, INT64_MAX));
    scene.pause_seconds = top.number("pause_seconds", 0.4, 0.0, 10.0);
    auto beats = top.tables("beats");
    if (beats.empty()) top.fail_key("beats", "must have at least one [[beats]] entry");
    if (beats.size() > kMaxBeats)
        top.fail_key("beats", fmt::format("has {} entries; a scene has at most {} beats", beats.size(), kMaxBeats));
    size_t groups = 0;
    for (const toml::table* b : beats) {
        detail::TableReader r(path, *b, "beats");
        SceneBeat beat;
        beat.where = detail::where(path, *b);
        beat.speaker = r.string("speaker", true);
        if (std::find(scene.cast.begin(), scene.cast.end(), beat.speaker) == scene.cast.end())
            r.fail_key("speaker", "'" + beat.speaker + "' is not in the cast");
        beat.situation = r.string("situation");
        beat.action = r.string("action");
        beat.line = r.string("line");
        beat.emotion = r.string("emotion");
        beat.answers = r.string("answers");
        if (r.boolean("parallel", false))
            beat.group = !scene.beats.empty() && scene.beats.back().group ? scene.beats.back().group : ++groups;
        check_answers(r, scene, beat);
        if (beat.line.empty() && trim(beat.situation).empty())
            r.fail_key("situation", "is required unless the beat has a fixed line");
        check_length(r, "line", beat.line, kMaxLineChars);
        check_length(r, "situation", beat.situation, kMaxSituationChars);
        check_length(r, "action", beat.action, kMaxSituationChars);
        check_length(r, "emotion", beat.emotion, 50);
        r.reject_unknown();
        scene.beats.push_back(beat);
    }
    top.reject_unknown();
    return scene;
}
}  // namespace

SceneScript load_scene(const std::string& path) { return scene_from_table(path, detail::parse_toml_file(path)); }

SceneScript parse_scene(std::string_view text, const std::string& name) {
    return scene_from_table(name, detail::parse_toml_text(text, name));
}

}  // namespace troupe
