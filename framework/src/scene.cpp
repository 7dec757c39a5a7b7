#include <troupe/toml_reader.hpp>

#include <troupe/scene.hpp>
#include <troupe/text.hpp>

#include <algorithm>

namespace troupe {

SceneScript load_scene(const std::string& path) {
    toml::table table = detail::parse_toml_file(path);
    detail::TableReader top(path, table);
    SceneScript scene;
    scene.path = path;
    scene.title = top.string("title", true);
    scene.cast = top.strings("cast");
    if (scene.cast.empty()) top.fail_key("cast", "must list at least one character id");
    scene.seed = uint64_t(top.integer("seed", 0, 0, INT64_MAX));
    scene.pause_seconds = top.number("pause_seconds", 0.4, 0.0, 10.0);
    auto beats = top.tables("beats");
    if (beats.empty()) top.fail_key("beats", "must have at least one [[beats]] entry");
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
        if (beat.line.empty() && trim(beat.situation).empty())
            r.fail_key("situation", "is required unless the beat has a fixed line");
        if (!beat.line.empty() && !utf8_valid(beat.line)) r.fail_key("line", "is not valid UTF-8");
        r.reject_unknown();
        scene.beats.push_back(beat);
    }
    top.reject_unknown();
    return scene;
}

}  // namespace troupe
