// Internal to scene rendering: one rendered line, and the writer of the scene's output files.
#pragma once

#include <troupe/character.hpp>
#include <troupe/eval/format.hpp>
#include <troupe/scene.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace troupe::cli {

constexpr int kSceneMixRate = 22050;

struct SceneLine {
    size_t index = 0;
    const Character* character = nullptr;
    SceneBeat beat;
    std::string prompt, text, stop, error;
    uint64_t seed = 0;
    bool fixed = false;
    double text_seconds = 0, speech_seconds = 0;  // batched lines: the batch's text seconds
    size_t batch = 0;           // rows of the batch the line was generated in (0: generated alone)
    double start = 0, end = 0;  // in the mixed track
    Audio audio;                // at kSceneMixRate
    Audio original;             // as the backend gave it (for the signal checks)
    eval::FormatResult format;
    std::string wav;            // relative to the output folder
};

/// Writes a text file atomically (temporary file, then rename). Throws Error.
void write_scene_text(const std::string& path, const std::string& text);

/// Writes mix.wav, subtitles.srt, script.txt, manifest.json, summary.md and timing.json from the
/// rendered lines (line WAVs are already written); returns the manifest. Throws Error(runtime) when
/// no line could be voiced.
nlohmann::json write_scene_outputs(const std::string& out_dir, const SceneScript& scene,
                                   std::vector<SceneLine>& lines, const nlohmann::json& backends,
                                   double load_seconds, double& mix_seconds);

}  // namespace troupe::cli
