// troupe say CHARACTER --situation "…" [--action "…"]: one line from the character's text backend.
#include "command.hpp"

#include <troupe/request.hpp>
#include <troupe/text.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>

namespace troupe::cli {
namespace po = boost::program_options;

namespace {
bool print_piece(void*, const std::string& piece) {
    fmt::print("{}", piece);
    std::fflush(stdout);
    return !Host::interrupted();
}
}  // namespace

int cmd_say(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe say options");
    std::string who, situation, action;
    int max_new_tokens = 0;
    int64_t seed = -1;
    options.add_options()("character", po::value(&who)->required(), "character id or name (부장, bujang)")(
        "situation", po::value(&situation)->required(), "the situation")(
        "action", po::value(&action), "stage direction ([지문: …])")(
        "seed", po::value(&seed), "sampling seed (default: the character's)")(
        "max-new-tokens", po::value(&max_new_tokens), "token limit (default: the character's)")(
        "greedy", "greedy decoding")("show-prompt", "print the prompt first");
    po::positional_options_description positional;
    positional.add("character", 1);
    po::variables_map vm;
    if (!parse_options("troupe say CHARACTER --situation \"…\" [--action \"…\"] [--json]", options, args, vm,
                       &positional))
        return 0;
    check_user_text(situation, "--situation", 2000);
    if (!action.empty()) check_user_text(action, "--action", 2000);
    check_generation_options(vm, seed, max_new_tokens);

    HostOptions host_options = global.host;
    host_options.load_plugins = false;  // only the plugins this command uses are loaded (Host::create)
    Host host(host_options);
    const Character& c = host.character(who);
    auto backend = host.create_as<TextBackend>(c.text_backend, PluginKind::text_backend, c.text_params);
    RequestOptions ro;
    if (seed >= 0) ro.seed = uint64_t(seed);
    if (max_new_tokens > 0) ro.max_new_tokens = max_new_tokens;
    ro.greedy = vm.count("greedy") > 0;
    const TextRequest request = make_text_request(host, c, backend.get(), {situation, action, {}}, ro);
    if (vm.count("show-prompt") && !global.json) fmt::print(stderr, "{}", request.prompt);

    TextResult result;
    const bool stream = !global.json;
    if (stream) fmt::print("{}: ", c.name);
    Status s = backend->generate(request, result, stream ? &print_piece : nullptr, nullptr);
    if (stream) fmt::print("\n");
    if (!s) throw Error(s.code(), s.message());
    const std::string generated = result.text;
    Status h = finish_line(host, c, result.text);  // the character's after_generate hook, if any
    if (!h) throw Error(h.code(), h.message());
    if (stream && result.text != generated) fmt::print("{}: {}\n", c.name, trim(result.text));
    if (global.json) {
        print_json(nlohmann::json{{"character", c.id},
                                  {"name", c.name},
                                  {"text", trim(result.text)},
                                  {"stop", to_string(result.stop)},
                                  {"ids", result.token_ids},
                                  {"prompt_tokens", result.prompt_tokens},
                                  {"seconds", result.seconds},
                                  {"backend", backend->describe()}}
                       .dump(2));
    } else if (!global.quiet) {
        fmt::print(stderr, "({} tokens, stop: {}, {:.2f} s)\n", result.token_ids.size(), to_string(result.stop),
                   result.seconds);
    }
    return result.stop == StopReason::cancelled ? 130 : 0;
}

}  // namespace troupe::cli
