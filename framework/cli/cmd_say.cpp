// troupe say CHARACTER --situation "…" [--action "…"]: one line from the character's text backend.
#include "command.hpp"

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

    Host host(global.host);
    const Character& c = host.character(who);
    auto backend = host.create_as<TextBackend>(c.text_backend, PluginKind::text_backend, c.text_params);
    TextRequest request;
    request.prompt = render_prompt(c, situation, action);
    request.sampling = c.sampling;
    if (seed >= 0) request.sampling.seed = uint64_t(seed);
    if (max_new_tokens > 0) request.sampling.max_new_tokens = max_new_tokens;
    if (vm.count("greedy")) request.sampling.greedy = true;
    request.stop_strings = {"###"};
    if (!c.adapter.empty()) {
        Status s = backend->load_adapter(c.id, c.adapter);
        if (!s) throw Error(s.code(), s.message());
        request.adapter = c.id;
    }
    auto hooks = host.hooks(c);
    if (hooks) {
        Status h = hooks->before_generate(request);
        if (!h) throw Error(h.code(), c.id + " hooks: " + h.message());
    }
    if (vm.count("show-prompt") && !global.json) fmt::print(stderr, "{}", request.prompt);

    TextResult result;
    const bool stream = !global.json;
    if (stream) fmt::print("{}: ", c.name);
    Status s = backend->generate(request, result, stream ? &print_piece : nullptr, nullptr);
    if (stream) fmt::print("\n");
    if (!s) throw Error(s.code(), s.message());
    if (hooks) {
        Status h = hooks->after_generate(result.text);
        if (!h) throw Error(h.code(), c.id + " hooks: " + h.message());
        if (stream) fmt::print("{}: {}\n", c.name, trim(result.text));
    }
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
