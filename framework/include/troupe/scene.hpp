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
#pragma once

#include <string>
#include <vector>

namespace troupe {

struct SceneBeat {
    std::string speaker;
    std::string situation;
    std::string action;
    std::string line;     // fixed line, empty = generate
    std::string emotion;
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
/// (a speaker outside the cast is an error too).
SceneScript load_scene(const std::string& path);

}  // namespace troupe
