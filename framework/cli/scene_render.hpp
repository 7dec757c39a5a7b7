// Rendering a scene script: each beat's line generated with the scene so far in context (or spoken as
// written), voiced, and written as it is ready; then the mixed track, subtitles, script, manifest,
// summary and timing. The lines of a parallel group (`parallel = true`, docs/scene-script.md) are
// generated together, in batches through troupe::generate_batch where the character's text backend
// offers BatchTextBackend (each row with its character's adapter), else one by one; every line goes
// through the same request path (make_text_request, finish_line). `troupe scene` and the server's
// scene jobs both call render_scene.
#pragma once

#include "cast_backends.hpp"

#include <troupe/scene.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace troupe::cli {

/// Batch size of parallel groups: default and range (`troupe scene --batch-size`, docs/cli.md).
constexpr size_t kDefaultSceneBatch = 8, kMaxSceneBatch = 64;

struct SceneRenderOptions {
    std::string out_dir;     // absolute; lines/ is created under it
    int64_t seed = -1;       // < 0: the script's
    int max_new_tokens = 0;  // 0: each character's
    /// Most lines of a parallel group decoded in one batch (per text backend); 1 = one by one.
    size_t batch_size = kDefaultSceneBatch;
};

/// Progress callbacks, called on the rendering thread; any may be empty. Line events carry
/// {index (1-based), character, name} plus text (text_ready) or wav and seconds (audio_ready), or
/// error (line_failed).
struct SceneProgress {
    std::function<void(const nlohmann::json&)> line_started, text_ready, audio_ready, line_failed;
    /// Polled between steps and while waiting for a backend; true stops with Error(cancelled).
    std::function<bool()> cancelled;
};

struct SceneRenderResult {
    nlohmann::json manifest;  // as written to manifest.json
    size_t lines = 0, voiced = 0;
    double mix_seconds = 0;
};

/// Renders `scene` into options.out_dir. Throws Error (cancelled, or runtime when no line could be
/// voiced); a line that fails is recorded in the manifest and reported through line_failed.
SceneRenderResult render_scene(const Host& host, CastBackends& backends, const SceneScript& scene,
                               const SceneRenderOptions& options, const SceneProgress& progress = {});

}  // namespace troupe::cli
