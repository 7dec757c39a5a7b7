// troupe plugins [NAME] [--paths]: lists loaded and failed plugins, or shows one.
#include "command.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace troupe::cli {
namespace po = boost::program_options;

namespace {
/// The kind is known once the manifest was read; a record that failed there has none.
std::string kind_of(const PluginRecord& r) {
    return r.stage == LoadStage::manifest && !r.message.empty() ? std::string() : std::string(to_string(r.manifest.kind));
}

nlohmann::json to_json(const PluginRecord& r) {
    nlohmann::json commands = nlohmann::json::array();
    for (const auto& c : r.manifest.commands) commands.push_back({{"name", c.name}, {"summary", c.summary}});
    return {{"name", r.manifest.name},
            {"kind", kind_of(r)},
            {"version", r.manifest.version},
            {"ok", r.ok},
            {"stage", to_string(r.stage)},
            {"message", r.message},
            {"manifest", r.manifest.manifest_path},
            {"library", r.manifest.library},
            {"capabilities", r.manifest.capabilities},
            {"defaults", r.manifest.defaults},
            {"commands", commands}};
}
}  // namespace

int cmd_plugins(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe plugins options");
    std::string name;
    options.add_options()("name", po::value(&name), "show one plugin")("paths", "print the search paths");
    po::positional_options_description positional;
    positional.add("name", 1);
    po::variables_map vm;
    if (!parse_options("troupe plugins [NAME] [--paths] [--json]", options, args, vm, &positional)) return 0;

    Host host(global.host);
    if (vm.count("paths")) {
        for (const auto& p : host.plugin_search_paths()) fmt::print("{}\n", p);
        return 0;
    }
    if (!name.empty()) {
        const PluginRecord* r = host.find_plugin(name);
        if (!r) throw Error(Errc::not_found, "no plugin named '" + name + "'");
        if (global.json) {
            print_json(to_json(*r).dump(2));
        } else {
            fmt::print("name:         {}\nkind:         {}\nversion:      {}\nstatus:       {}\nmanifest:     {}\n"
                       "library:      {}\ncapabilities: {}\n",
                       r->manifest.name, kind_of(*r).empty() ? "?" : kind_of(*r), r->manifest.version,
                       r->ok ? "loaded" : fmt::format("failed at {}: {}", to_string(r->stage), r->message),
                       r->manifest.manifest_path, r->manifest.library, fmt::join(r->manifest.capabilities, ", "));
            for (auto& [k, v] : r->manifest.defaults) fmt::print("default:      {} = {}\n", k, v);
            for (auto& c : r->manifest.commands) fmt::print("command:      {} — {}\n", c.name, c.summary);
        }
        return r->ok ? 0 : 1;
    }
    if (global.json) {
        nlohmann::json list = nlohmann::json::array();
        size_t failed = 0;
        for (const auto& r : host.plugins()) {
            list.push_back(to_json(r));
            failed += !r.ok;
        }
        print_json(nlohmann::json{{"plugins", list}, {"failed", failed}, {"search_paths", host.plugin_search_paths()}}.dump(2));
        return failed ? 1 : 0;  // the listing is complete, but not every plugin loaded
    }
    size_t failed = 0;
    fmt::print("{:<18} {:<18} {:<8} {}\n", "PLUGIN", "KIND", "VERSION", "STATUS");
    for (const auto& r : host.plugins()) {
        if (r.ok) {
            fmt::print("{:<18} {:<18} {:<8} loaded\n", r.manifest.name, to_string(r.manifest.kind), r.manifest.version);
        } else {
            ++failed;
            fmt::print("{:<18} {:<18} {:<8} FAILED ({}): {}\n", r.manifest.name.empty() ? "?" : r.manifest.name,
                       kind_of(r).empty() ? "?" : kind_of(r), r.manifest.version.empty() ? "?" : r.manifest.version,
                       to_string(r.stage), r.message);
        }
    }
    fmt::print("{} loaded, {} failed\n", host.plugins().size() - failed, failed);
    return failed ? 1 : 0;  // docs/cli.md: 1 = the job ran but did not fully succeed
}

}  // namespace troupe::cli
