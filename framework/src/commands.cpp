// Plugin commands on the host side: matching the command line to a declared command, the group help,
// and the call through troupe_plugin_run_command with its C context.
#include <troupe/commands.hpp>
#include <troupe/kit/cli.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace troupe {
namespace {

std::string group_of(const std::string& name) {
    const size_t space = name.find(' ');
    return space == std::string::npos ? std::string() : name.substr(0, space);
}

/// What the context's callbacks reach: the host, and strings that must outlive the callback.
struct CallState {
    Host* host = nullptr;
    std::string plugin, last_error, folder;
};

void call_log(void* state, int level, const char* message) {
    auto* s = static_cast<CallState*>(state);
    const int l = std::clamp(level, int(TROUPE_LOG_DEBUG), int(TROUPE_LOG_ERROR));
    if (l < int(s->host->log_level())) return;
    std::fprintf(stderr, "[%s] %s\n", s->plugin.c_str(), message ? message : "");
}

int call_cancel_requested(void*) { return Host::interrupted() ? 1 : 0; }

const char* call_character_folder(void* state, const char* id) {
    auto* s = static_cast<CallState*>(state);
    try {
        s->folder = s->host->character(id ? id : "").folder;
        return s->folder.c_str();
    } catch (const std::exception& e) {
        s->last_error = e.what();
        return nullptr;
    }
}

const char* call_last_error(void* state) { return static_cast<CallState*>(state)->last_error.c_str(); }

int print_group_error(const Host& host, const std::string& group, const std::string& message) {
    fmt::print(stderr, "troupe: error: {}\n\n", message);
    print_plugin_commands(host, group);
    return 2;
}

int call_plugin(Host& host, const CommandEntry& entry, const std::vector<std::string>& args, size_t words,
                const CommandOptions& options) {
    const PluginRecord& record = host.load(entry.plugin);
    if (!record.ok)
        throw Error(Errc::init_failed, fmt::format("plugin '{}' failed to load at the {} stage: {}", entry.plugin,
                                                   to_string(record.stage), record.message));
    if (!record.run_command)
        throw Error(Errc::init_failed, fmt::format("plugin '{}' exports no troupe_plugin_run_command", entry.plugin));

    CallState state;
    state.host = &host;
    state.plugin = entry.plugin;
    std::vector<const char*> argv;
    for (size_t i = words; i < args.size(); ++i) argv.push_back(args[i].c_str());
    argv.push_back(nullptr);
    const Params params = host.plugin_params(entry.plugin);
    std::vector<const char*> keys, values, allow;
    for (const auto& [k, v] : params) {
        keys.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    for (const std::string& d : host.allowed_dirs()) allow.push_back(d.c_str());
    const std::string plugin_dir = record.manifest.manifest_path.substr(0, record.manifest.manifest_path.rfind('/'));

    troupe_command_context c{};
    c.size = sizeof c;
    c.api_version = TROUPE_PLUGIN_API_VERSION;
    c.command = entry.command.name.c_str();
    c.argc = int(argv.size() - 1);
    c.argv = argv.data();
    c.json = options.json;
    c.quiet = options.quiet;
    c.log_level = int(host.log_level());
    c.plugin_name = entry.plugin.c_str();
    c.plugin_dir = plugin_dir.c_str();
    c.param_count = keys.size();
    c.param_keys = keys.data();
    c.param_values = values.data();
    c.allow_dir_count = allow.size();
    c.allow_dirs = allow.data();
    c.host = &state;
    c.log = &call_log;
    c.cancel_requested = &call_cancel_requested;
    c.character_folder = &call_character_folder;
    c.last_error = &call_last_error;
    return record.run_command(&c);
}

}  // namespace

const CommandEntry* match_command(const std::vector<CommandEntry>& commands, const std::vector<std::string>& args,
                                  size_t& words) {
    words = 0;
    if (args.empty()) return nullptr;
    if (args.size() >= 2)
        for (const CommandEntry& e : commands)
            if (e.command.name == args[0] + " " + args[1]) return words = 2, &e;
    for (const CommandEntry& e : commands)
        if (e.command.name == args[0]) return words = 1, &e;
    return nullptr;
}

bool is_plugin_command(const Host& host, const std::string& word) {
    for (const CommandEntry& e : host.commands())
        if (e.command.name == word || group_of(e.command.name) == word) return true;
    return false;
}

void print_plugin_commands(const Host& host, const std::string& group) {
    const std::vector<CommandEntry> commands = host.commands();
    if (!group.empty()) {
        fmt::print("usage: troupe {} <command> [options]\n\nCommands (plugin in brackets):\n", group);
        for (const CommandEntry& e : commands)
            if (group_of(e.command.name) == group)
                fmt::print("  {:<12} {} [{}]\n", e.command.name.substr(group.size() + 1), e.command.summary, e.plugin);
        fmt::print("\n`troupe {} <command> --help` for a command's options.\n", group);
        return;
    }
    // All groups, one line each: the union of every plugin's commands in the group.
    std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> groups;  // names, plugins
    for (const CommandEntry& e : commands) {
        const std::string g = group_of(e.command.name);
        if (g.empty()) {
            fmt::print("  {:<12} {} [{}]\n", e.command.name, e.command.summary, e.plugin);
            continue;
        }
        auto& [names, plugins] = groups[g];
        names.push_back(e.command.name.substr(g.size() + 1));
        if (std::find(plugins.begin(), plugins.end(), e.plugin) == plugins.end()) plugins.push_back(e.plugin);
    }
    for (const auto& [g, entry] : groups) {
        std::string names, plugins;
        for (const auto& n : entry.first) names += (names.empty() ? "" : "|") + n;
        for (const auto& p : entry.second) plugins += (plugins.empty() ? "" : ", ") + p;
        fmt::print("  {:<12} {} [{}]\n", g, names, plugins);
    }
}

int run_plugin_command(Host& host, const std::vector<std::string>& args, const CommandOptions& options) {
    const std::string shown = args.size() >= 2 ? args[0] + " " + args[1] : args.empty() ? "" : args[0];
    return kit::run_guarded(shown.c_str(), [&]() -> int {
        if (args.empty()) throw Error(Errc::invalid_argument, "no command given");
        const std::vector<CommandEntry> commands = host.commands();
        size_t words = 0;
        const CommandEntry* entry = match_command(commands, args, words);
        const bool is_group = std::any_of(commands.begin(), commands.end(),
                                          [&](const CommandEntry& e) { return group_of(e.command.name) == args[0]; });
        if (!entry && is_group) {
            if (args.size() == 1) return print_group_error(host, args[0], "troupe " + args[0] + " needs a command");
            if (args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
                print_plugin_commands(host, args[0]);
                return 0;
            }
            return print_group_error(host, args[0], fmt::format("unknown command '{} {}'", args[0], args[1]));
        }
        if (!entry) throw Error(Errc::invalid_argument, fmt::format("unknown command '{}'", args[0]));
        return call_plugin(host, *entry, args, words, options);
    });
}

}  // namespace troupe
