// troupe characters [list | show ID | validate [FOLDER...]]
#include "command.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <optional>

namespace troupe::cli {
namespace po = boost::program_options;

namespace {

nlohmann::json to_json(const Character& c) {
    nlohmann::json scenarios = nlohmann::json::array();
    for (auto& s : c.scenarios) scenarios.push_back({{"situation", s.situation}, {"action", s.action}});
    nlohmann::json emotions = nlohmann::json::array();
    for (auto& e : c.emotions) emotions.push_back({{"emotion", e.emotion}, {"reference_audio", e.reference_audio}});
    return {{"id", c.id},
            {"name", c.name},
            {"description", c.description},
            {"folder", c.folder},
            {"persona", c.persona},
            {"speech_level", to_string(c.speech_level)},
            {"favoured_expressions", c.favoured_expressions},
            {"banned_expressions", c.banned_expressions},
            {"line_chars", {c.min_line_chars, c.max_line_chars}},
            {"text", {{"backend", c.text_backend}, {"adapter", c.adapter}, {"params", c.text_params}}},
            {"speech",
             {{"backend", c.speech_backend},
              {"voice", c.voice.params},
              {"reference_audio", c.voice.reference_audio},
              {"emotions", emotions}}},
            {"scenarios", scenarios}};
}

/// `troupe characters validate [FOLDER...]`: the manifest (with troupe.toml's allow_dirs), then
/// what run time needs (Host::check_character), for the named folders or every character found.
int validate(const std::vector<std::string>& targets, bool use_backends, const GlobalOptions& global) {
    HostOptions host_options = global.host;
    host_options.load_plugins = false;  // only the plugins the characters use are loaded (check_character)
    Host host(host_options);
    struct Target {
        std::string label;
        std::optional<Character> character;
        std::vector<std::string> problems;
    };
    std::vector<Target> checked;
    if (targets.empty()) {
        for (const auto& c : host.characters()) checked.push_back({c.folder, c, {}});
        for (const auto& i : host.character_issues()) checked.push_back({i.path, std::nullopt, {i.message}});
    }
    for (const auto& folder : targets) {
        Target t{folder, std::nullopt, {}};
        try {
            t.character = load_character(folder, host.allowed_dirs());
        } catch (const Error& e) {
            t.problems.push_back(e.what());
        }
        checked.push_back(std::move(t));
    }
    int failures = 0;
    nlohmann::json results = nlohmann::json::array();
    for (auto& t : checked) {
        if (t.character) {
            auto more = host.check_character(*t.character, use_backends);
            t.problems.insert(t.problems.end(), more.begin(), more.end());
        }
        const bool ok = t.problems.empty();
        failures += !ok;
        nlohmann::json entry = {{"folder", t.label}, {"ok", ok}, {"errors", t.problems}};
        if (t.character) entry["id"] = t.character->id;
        if (!ok) entry["error"] = t.problems.front();
        results.push_back(entry);
        if (global.json) continue;
        if (ok) fmt::print("{}: ok ({} {})\n", t.label, t.character->id, t.character->name);
        for (const auto& p : t.problems) fmt::print(stderr, "{}\n", p);
    }
    if (global.json) print_json(results.dump(2));
    return failures ? 3 : 0;
}

}  // namespace

int cmd_characters(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe characters options");
    std::string action = "list";
    std::vector<std::string> targets;
    options.add_options()("action", po::value(&action), "list | show | validate")(
        "target", po::value(&targets), "character id (show) or folders (validate)")(
        "static", "validate: check manifests and plugins only, without creating the backends");
    po::positional_options_description positional;
    positional.add("action", 1).add("target", -1);
    po::variables_map vm;
    if (!parse_options("troupe characters [list | show ID | validate [FOLDER...] [--static]] [--json]", options, args, vm,
                       &positional))
        return 0;

    if (action == "validate") return validate(targets, vm.count("static") == 0, global);
    HostOptions host_options = global.host;
    host_options.load_plugins = false;
    Host host(host_options);
    if (action == "list") {
        if (global.json) {
            nlohmann::json list = nlohmann::json::array(), issues = nlohmann::json::array();
            for (const auto& c : host.characters()) list.push_back(to_json(c));
            for (const auto& i : host.character_issues()) issues.push_back({{"path", i.path}, {"error", i.message}});
            print_json(nlohmann::json{{"characters", list}, {"invalid", issues}}.dump(2));
        } else {
            fmt::print("{:<10} {:<8} {:<10} {:<14} {}\n", "ID", "NAME", "LEVEL", "TEXT/SPEECH", "DESCRIPTION");
            for (const auto& c : host.characters())
                fmt::print("{:<10} {:<8} {:<10} {:<14} {}\n", c.id, c.name, to_string(c.speech_level),
                           c.text_backend + "/" + c.speech_backend, c.description);
            for (const auto& i : host.character_issues()) fmt::print(stderr, "invalid: {}\n", i.message);
        }
        return host.character_issues().empty() ? 0 : 3;
    }
    if (action == "show") {
        if (targets.size() != 1) throw Error(Errc::invalid_argument, "usage: troupe characters show ID");
        const Character& c = host.character(targets[0]);
        if (global.json) {
            print_json(to_json(c).dump(2));
            return 0;
        }
        fmt::print("{} ({})\n  {}\n  folder: {}\n  speech level: {}\n  line length: {}–{} characters\n", c.name, c.id,
                   c.description, c.folder, to_string(c.speech_level), c.min_line_chars, c.max_line_chars);
        fmt::print("  favoured: {}\n  banned: {}\n", fmt::join(c.favoured_expressions, ", "),
                   fmt::join(c.banned_expressions, ", "));
        fmt::print("  text: {} adapter={}\n  speech: {}", c.text_backend, c.adapter.empty() ? "(none)" : c.adapter,
                   c.speech_backend);
        for (auto& [k, v] : c.voice.params) fmt::print(" {}={}", k, v);
        fmt::print("\n  persona:\n    {}\n  scenarios: {}\n", c.persona, c.scenarios.size());
        return 0;
    }
    throw Error(Errc::invalid_argument, "unknown action '" + action + "' (list, show, validate)");
}

}  // namespace troupe::cli
