// troupe/scene.hpp — scene scripts (scenes/*.toml): a cast and beats, validated like every manifest.
//
//   title = "월요일 아침 회의"
//   cast = ["bujang", "sinip"]
//   seed = 7                       # optional; --seed overrides
//   pause_seconds = 0.4            # optional pause between lines in the mixed track
//   [[beats]]
//   speaker = "bujang"
//   situation = "주간 회의가 시작됐다"
//   action = "커피를 들고 들어온다"    # the stage direction ([지문: …])
//   line = "…"                     # optional fixed line: spoken as written, not generated
//   emotion = "happy"              # optional
//   answers = "sinip"              # optional: quote this character's latest line in the prompt
//   parallel = true                # optional: see below
//
// Consecutive beats with `parallel = true` form one parallel group: their lines are generated from
// the scene as it stood before the group (none sees another's text), so they may be decoded together
// in one batch (docs/scene-script.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace troupe {

struct SceneBeat {
    std::string speaker;
    std::string situation;
    std::string action;
    std::string line;     // fixed line, empty = generate
    std::string emotion;
    std::string answers;  // cast id whose latest earlier line the prompt quotes; empty = none
    size_t group = 0;     // parallel group (1, 2, …; consecutive `parallel = true` beats); 0 = none
    std::string where;    // file:line:col of the beat, for error messages
};

struct SceneScript {
    std::string path;
    std::string title;
    std::vector<std::string> cast;
    uint64_t seed = 0;
    double pause_seconds = 0.4;
    std::vector<SceneBeat> beats;
};

/// Parses and validates a scene script; throws Error(invalid_file) with file:line:col
/// (a speaker outside the cast is an error too, and so is a beat that `answers` a line it cannot
/// see: one of its own parallel group, or none at all).
SceneScript load_scene(const std::string& path);

/// load_scene on a script's text in memory (a request body); `name` stands for the file in errors
/// and in `path`.
SceneScript parse_scene(std::string_view text, const std::string& name);

}  // namespace troupe
