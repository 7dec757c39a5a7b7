// troupe speak CHARACTER --text "…" -o out.wav: speech in the character's voice.
#include "command.hpp"

#include <troupe/audio.hpp>
#include <troupe/request.hpp>
#include <troupe/text.hpp>

#include <chrono>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::cli {
namespace po = boost::program_options;

int cmd_speak(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe speak options");
    std::string who, text, out, emotion;
    int64_t seed = 0;
    options.add_options()("character", po::value(&who)->required(), "character id or name")(
        "text", po::value(&text)->required(), "what to say")("output,o", po::value(&out)->required(), "WAV file")(
        "emotion", po::value(&emotion), "emotion of the line (its reference voice, where there is one)")(
        "seed", po::value(&seed), "seed for stochastic voices");
    po::positional_options_description positional;
    positional.add("character", 1);
    po::variables_map vm;
    if (!parse_options("troupe speak CHARACTER --text \"…\" -o out.wav", options, args, vm, &positional)) return 0;
    check_user_text(text, "--text", 1000);
    check_generation_options(vm, seed, 1);
    check_output_file(out, "-o");

    HostOptions host_options = global.host;
    host_options.load_plugins = false;  // only the plugins this command uses are loaded (Host::create)
    Host host(host_options);
    const Character& c = host.character(who);
    auto backend = host.create_as<SpeechBackend>(c.speech_backend, PluginKind::speech_backend);
    const SpeechRequest request = make_speech_request(c, text, emotion, uint64_t(seed));
    Audio audio;
    auto start = std::chrono::steady_clock::now();
    Status s = backend->synthesize(request, audio);
    if (!s) throw Error(s.code(), s.message());
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    write_wav(out, audio);
    if (global.json)
        print_json(nlohmann::json{{"character", c.id}, {"output", out}, {"sample_rate", audio.sample_rate},
                                  {"duration", audio.seconds()}, {"rtf", seconds / std::max(1e-9, audio.seconds())},
                                  {"backend", backend->describe()}}
                       .dump(2));
    else if (!global.quiet)
        fmt::print("{}: wrote {} ({:.2f} s of audio at {} Hz)\n", c.name, out, audio.seconds(), audio.sample_rate);
    return 0;
}

}  // namespace troupe::cli
