// troupe scene SCRIPT [--out DIR] [--seed N]: the main job. Generates each beat's line with the scene so
// far in context, voices it, and writes one WAV per line, a mixed track, subtitles, the script, a
// manifest and a short eval summary (scene_render.cpp does the work).
#include "command.hpp"
#include "scene_render.hpp"

#include <boost/filesystem.hpp>
#include <fmt/format.h>

namespace troupe::cli {
namespace po = boost::program_options;
namespace fs = boost::filesystem;

int cmd_scene(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe scene options");
    std::string script_path, out_dir;
    int64_t seed = -1;
    int max_new_tokens = 0;
    int64_t batch_size = int64_t(kDefaultSceneBatch);
    options.add_options()("script", po::value(&script_path)->required(), "scene script (scenes/*.toml)")(
        "out,o", po::value(&out_dir), "output folder (default: out/scenes/<script name>)")(
        "seed", po::value(&seed), "scene seed (default: the script's)")(
        "max-new-tokens", po::value(&max_new_tokens), "token limit per line (default: the character's)")(
        "batch-size", po::value(&batch_size),
        "most lines of a parallel group generated in one batch, 1–64 (default 8; 1 = one by one)");
    po::positional_options_description positional;
    positional.add("script", 1);
    po::variables_map vm;
    if (!parse_options("troupe scene SCRIPT [--out DIR] [--seed N] [--batch-size N] [--json]", options, args, vm, &positional)) return 0;

    check_generation_options(vm, seed, max_new_tokens);
    if (batch_size < 1 || batch_size > int64_t(kMaxSceneBatch))
        throw Error(Errc::invalid_argument,
                    fmt::format("--batch-size must be between 1 and {} (got {})", kMaxSceneBatch, batch_size));

    SceneScript scene = load_scene(script_path);
    if (out_dir.empty()) out_dir = "out/scenes/" + fs::path(script_path).stem().string();
    if (fs::exists(out_dir) && !fs::is_directory(out_dir))
        throw Error(Errc::invalid_argument, "--out " + out_dir + ": is a file; the scene needs a folder");

    HostOptions host_options = global.host;
    host_options.load_plugins = false;  // only the plugins this command uses are loaded (Host::create)
    Host host(host_options);
    CastBackends backends(host);
    SceneRenderOptions render;
    render.out_dir = fs::absolute(out_dir).string();
    render.seed = seed;
    render.max_new_tokens = max_new_tokens;
    render.batch_size = size_t(batch_size);
    Progress bar("scene", scene.beats.size(), !global.quiet && !global.json);
    SceneProgress progress;
    progress.audio_ready = [&](const nlohmann::json&) { bar.step(); };
    progress.line_failed = [&](const nlohmann::json&) { bar.step(); };
    progress.cancelled = [] { return Host::interrupted(); };
    SceneRenderResult result = render_scene(host, backends, scene, render, progress);
    bar.done();

    if (global.json)
        print_json(nlohmann::json{{"out", render.out_dir}, {"summary", result.manifest["summary"]}}.dump(2));
    else if (!global.quiet)
        fmt::print("scene '{}': {} of {} lines voiced, {:.1f} s mixed → {}\n", scene.title, result.voiced,
                   result.lines, result.mix_seconds, render.out_dir);
    return result.voiced == result.lines ? 0 : 1;
}

}  // namespace troupe::cli
