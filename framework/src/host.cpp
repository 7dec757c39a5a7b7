#include "host_internal.hpp"

#include <troupe/paths.hpp>
#include <troupe/request.hpp>
#include <troupe/text.hpp>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/filesystem.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <map>
#include <set>

namespace fs = boost::filesystem;

namespace troupe {
namespace {

volatile bool g_interrupted = false;

void on_sigint(int) {
    if (g_interrupted) std::_Exit(130);  // a second Ctrl-C ends the process at once
    g_interrupted = true;
}

const char* level_name(LogLevel level) {
    switch (level) {
        case LogLevel::debug: return "debug";
        case LogLevel::info: return "info";
        case LogLevel::warn: return "warning";
        case LogLevel::error: return "error";
    }
    return "";
}

void log_to_stderr(void* user, LogLevel level, const char* plugin, const char* message) {
    auto threshold = *static_cast<const LogLevel*>(user);
    if (int(level) < int(threshold)) return;
    std::fprintf(stderr, "[%s] %s: %s\n", plugin && *plugin ? plugin : "troupe", level_name(level), message);
}

bool is_dir(const fs::path& p) {
    boost::system::error_code ec;
    return fs::is_directory(p, ec);
}

bool path_exists(const fs::path& p) {
    boost::system::error_code ec;
    return fs::exists(p, ec);
}

/// The sub-folders of `dir`, sorted; an unreadable folder or entry (permissions, a name too long,
/// a dangling link) is skipped with a warning through `warn` instead of throwing out of discovery.
template <class Warn>
std::vector<fs::path> sub_folders(const std::string& dir, Warn warn) {
    std::vector<fs::path> out;
    boost::system::error_code ec;
    fs::directory_iterator it(dir, ec), end;
    for (; !ec && it != end; it.increment(ec))
        if (is_dir(it->path())) out.push_back(it->path());
    if (ec) warn(fmt::format("{}: cannot list the folder: {}", dir, ec.message()));
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string source_dir() { return is_dir(TROUPE_SOURCE_DIR) ? TROUPE_SOURCE_DIR : ""; }

std::string default_plugin_dir() {
    if (is_dir(TROUPE_DEFAULT_PLUGIN_DIR)) return TROUPE_DEFAULT_PLUGIN_DIR;
    return TROUPE_INSTALL_PLUGIN_DIR;
}

std::string default_character_dir() {
    std::string in_tree = std::string(TROUPE_SOURCE_DIR) + "/characters";
    if (is_dir(in_tree)) return in_tree;
    return std::string(TROUPE_INSTALL_DATA_DIR) + "/characters";
}

struct Host::Impl {
    LogLevel level = LogLevel::info;
    HostServices services;
    detail::UserConfig config;
    std::vector<std::string> plugin_paths, character_paths;
    std::vector<PluginRecord> plugins;
    std::vector<Character> characters;
    std::vector<CharacterIssue> character_issues;
    mutable std::map<std::string, std::shared_ptr<CharacterHooks>> hooks;  // by character id
    std::vector<std::string> reserved_commands;
    // Each full command name and each group word ("group:lm") -> the plugin declaring it and its manifest.
    std::map<std::string, std::pair<std::string, std::string>> command_owner;

    /// The first command of `m` that clashes with a core command or another plugin's, described with
    /// both plugins; "" when none does (then the commands of `m` are recorded as taken).
    std::string claim_commands(const PluginManifest& m) {
        for (const PluginCommand& c : m.commands) {
            const size_t space = c.name.find(' ');
            const std::string first = c.name.substr(0, space);
            if (std::find(reserved_commands.begin(), reserved_commands.end(), first) != reserved_commands.end())
                return fmt::format("{}: command '{}' clashes with troupe's own '{}' command", m.manifest_path, c.name,
                                   first);
            // Full names and group words share one namespace: "lm" cannot be both a command and a group.
            auto owner = command_owner.find(c.name);
            if (owner == command_owner.end())
                owner = command_owner.find(space == std::string::npos ? "group:" + first : first);
            if (owner != command_owner.end() && owner->second.first != m.name)
                return fmt::format("{}: command '{}' clashes with plugin '{}' ({}), which declares it first; remove "
                                   "one of them from the search path or rename the command",
                                   m.manifest_path, c.name, owner->second.first, owner->second.second);
        }
        for (const PluginCommand& c : m.commands) {
            command_owner[c.name] = {m.name, m.manifest_path};
            const size_t space = c.name.find(' ');
            if (space != std::string::npos) command_owner.emplace("group:" + c.name.substr(0, space),
                                                                  std::make_pair(m.name, m.manifest_path));
        }
        return {};
    }
    // check_character's backends, by plugin and parameters (a model is loaded once per validation)
    mutable std::map<std::string, std::shared_ptr<Object>> checked_backends;

    void discover_plugins(bool load) {
        std::set<std::string> seen_names, seen_manifests;
        for (const auto& dir : plugin_paths) {
            if (!is_dir(dir)) continue;
            std::vector<fs::path> manifests;
            if (path_exists(fs::path(dir) / "plugin.toml")) manifests.push_back(fs::path(dir) / "plugin.toml");
            for (auto& sub : sub_folders(dir, [&](const std::string& m) { log(LogLevel::warn, m); }))
                if (path_exists(sub / "plugin.toml")) manifests.push_back(sub / "plugin.toml");
            for (auto& manifest : manifests) {
                boost::system::error_code ec;
                const fs::path resolved = fs::canonical(manifest, ec);
                if (ec) {
                    log(LogLevel::warn, fmt::format("{}: cannot resolve the path: {}", manifest.string(), ec.message()));
                    continue;
                }
                std::string path = resolved.string();
                if (!seen_manifests.insert(path).second) continue;
                PluginRecord record;
                try {
                    record.manifest = detail::read_plugin_manifest(path);
                } catch (const Error& e) {
                    record.manifest.manifest_path = path;
                    record.manifest.name = detail::peek_plugin_name(path);
                    record.stage = LoadStage::manifest;
                    record.message = e.what();
                    plugins.push_back(record);
                    continue;
                }
                if (!seen_names.insert(record.manifest.name).second) {
                    log(LogLevel::debug, fmt::format("{}: plugin '{}' is shadowed by an earlier one", path,
                                                     record.manifest.name));
                    continue;
                }
                const std::string clash = claim_commands(record.manifest);
                if (!clash.empty()) {
                    record.stage = LoadStage::manifest;
                    record.message = clash;
                    log(LogLevel::warn, clash);
                    plugins.push_back(std::move(record));
                    continue;
                }
                if (load) detail::load_plugin(record, services);
                if (!record.ok && load) log(LogLevel::debug, record.message);
                plugins.push_back(std::move(record));
            }
        }
    }

    void discover_characters() {
        std::set<std::string> ids;
        for (const auto& dir : character_paths) {
            if (!is_dir(dir)) continue;
            for (auto& folder : sub_folders(dir, [&](const std::string& m) { log(LogLevel::warn, m); })) {
                if (!path_exists(folder / "character.toml")) continue;
                try {
                    Character c = load_character(folder.string(), config.allow_dirs);
                    if (!ids.insert(c.id).second) continue;  // an earlier path wins
                    characters.push_back(std::move(c));
                } catch (const Error& e) {
                    character_issues.push_back({(folder / "character.toml").string(), e.what()});
                }
            }
        }
    }

    void log(LogLevel l, const std::string& message) const { log_to_stderr((void*)&level, l, "troupe", message.c_str()); }
};

Host::Host(const HostOptions& options) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.level = options.log_level;
    m.services.log = &log_to_stderr;
    m.services.log_user = &m.level;
    m.services.cancel_requested = &g_interrupted;

    std::string config_file = options.config_file;
    if (config_file.empty() && std::getenv("TROUPE_CONFIG")) config_file = std::getenv("TROUPE_CONFIG");
    if (config_file.empty() && path_exists("troupe.toml")) config_file = "troupe.toml";
    if (!config_file.empty()) m.config = detail::read_user_config(config_file);

    // Search order: --plugin-path > TROUPE_PLUGIN_PATH > troupe.toml [plugins] paths > build/install dir.
    auto add = [](std::vector<std::string>& to, const std::vector<std::string>& from) {
        for (auto& p : from) to.push_back(fs::absolute(p).lexically_normal().string());
    };
    add(m.plugin_paths, options.plugin_paths);
    add(m.plugin_paths, detail::split_path_list(std::getenv("TROUPE_PLUGIN_PATH")));
    add(m.plugin_paths, m.config.plugin_paths);
    m.plugin_paths.push_back(default_plugin_dir());

    add(m.character_paths, options.character_paths);
    add(m.character_paths, detail::split_path_list(std::getenv("TROUPE_CHARACTER_PATH")));
    add(m.character_paths, m.config.character_paths);
    m.character_paths.push_back(default_character_dir());

    m.reserved_commands = options.reserved_commands;
    m.discover_plugins(options.load_plugins);
    m.discover_characters();
}

Host::~Host() = default;

const std::vector<PluginRecord>& Host::plugins() const { return impl_->plugins; }

const PluginRecord* Host::find_plugin(const std::string& name) const {
    for (const auto& r : impl_->plugins)
        if (r.manifest.name == name) return &r;
    return nullptr;
}

const PluginRecord& Host::load(const std::string& name) {
    for (auto& r : impl_->plugins) {
        if (r.manifest.name != name) continue;
        // Only a plugin that was discovered but not yet opened (a manifest-stage record with no
        // message) is loaded now; failures stay as they were recorded.
        if (!r.ok && r.stage == LoadStage::manifest && r.message.empty()) {
            detail::load_plugin(r, impl_->services);
            if (!r.ok) impl_->log(LogLevel::debug, r.message);
        }
        return r;
    }
    throw Error(Errc::not_found, fmt::format("no plugin named '{}' (see `troupe plugins`)", name));
}

std::vector<CommandEntry> Host::commands() const {
    std::vector<CommandEntry> out;
    for (const auto& r : impl_->plugins) {
        if (r.stage == LoadStage::manifest && !r.message.empty()) continue;  // malformed or clashing manifest
        for (const PluginCommand& c : r.manifest.commands) out.push_back({c, r.manifest.name});
    }
    std::sort(out.begin(), out.end(),
              [](const CommandEntry& a, const CommandEntry& b) { return a.command.name < b.command.name; });
    return out;
}

Params Host::plugin_params(const std::string& plugin, const Params& params) const {
    const PluginRecord* record = find_plugin(plugin);
    if (!record) throw Error(Errc::not_found, fmt::format("no plugin named '{}' (see `troupe plugins`)", plugin));
    Params merged = record->manifest.defaults;
    const std::string prefix = plugin + ".";
    for (auto& [k, v] : impl_->config.plugin_params)
        if (k.compare(0, prefix.size(), prefix) == 0) merged[k.substr(prefix.size())] = v;
    for (auto& [k, v] : params) merged[k] = v;
    // Plugins resolve relative data paths (e.g. the embedded model) against this directory.
    merged["host.data_dir"] = source_dir().empty() ? std::string(TROUPE_INSTALL_DATA_DIR) : source_dir();
    return merged;
}

std::shared_ptr<Object> Host::create(const std::string& plugin, const Params& params) const {
    const PluginRecord* record = find_plugin(plugin);
    if (!record) throw Error(Errc::not_found, fmt::format("no plugin named '{}' (see `troupe plugins`)", plugin));
    if (!record->ok && record->stage == LoadStage::manifest && record->message.empty())
        record = &const_cast<Host*>(this)->load(plugin);  // discovered only: load it now
    if (!record->ok || !record->module)
        throw Error(Errc::init_failed, fmt::format("plugin '{}' failed to load at the {} stage: {}", plugin,
                                                   to_string(record->stage), record->message));
    const Params merged = plugin_params(plugin, params);
    std::shared_ptr<Object> object;
    Status status = record->module->create(merged, object);
    // Plugins name themselves in their messages (the kit's ParamReader does); add the name only if not.
    const bool named = status.message().compare(0, plugin.size() + 1, plugin + ":") == 0;
    if (!status) throw Error(status.code(), named ? status.message() : fmt::format("{}: {}", plugin, status.message()));
    if (!object) throw Error(Errc::runtime, fmt::format("{}: create returned no object", plugin));
    return object;
}

const std::vector<Character>& Host::characters() const { return impl_->characters; }
const std::vector<CharacterIssue>& Host::character_issues() const { return impl_->character_issues; }

const Character& Host::character(const std::string& id_or_name) const {
    std::vector<const Character*> matches;
    for (const auto& c : impl_->characters)
        if (c.id == id_or_name || c.name == id_or_name) matches.push_back(&c);
    if (matches.size() == 1) return *matches.front();
    if (matches.size() > 1) {
        std::string list;
        for (const Character* c : matches) list += fmt::format("{}{} ({}, {})", list.empty() ? "" : "; ", c->id, c->name, c->folder);
        throw Error(Errc::invalid_argument,
                    fmt::format("'{}' is ambiguous: it names {} characters: {}; use the id", id_or_name, matches.size(), list));
    }
    for (const auto& issue : impl_->character_issues)
        if (fs::path(issue.path).parent_path().filename().string() == id_or_name)
            throw Error(Errc::invalid_file, issue.message);
    std::string known;
    for (const auto& c : impl_->characters) known += (known.empty() ? "" : ", ") + c.id + " (" + c.name + ")";
    throw Error(Errc::not_found, fmt::format("no character '{}'; known: {}", id_or_name, known));
}

std::shared_ptr<CharacterHooks> Host::hooks(const Character& character) const {
    if (character.hooks_library.empty()) return nullptr;
    auto& cached = impl_->hooks[character.id];
    if (cached) return cached;
    PluginRecord record;
    record.manifest = detail::read_plugin_manifest(character.hooks_library + "/plugin.toml");
    // The hooks' library is code the host will run: it must really lie in the character's folder
    // (or an allowed directory), like every path the character names — a symlink may not lead out.
    if (!confine_path(record.manifest.library, character.folder, impl_->config.allow_dirs))
        throw Error(Errc::invalid_file, fmt::format("{}: the hooks library {} resolves to {}, outside the character folder",
                                                    record.manifest.manifest_path, record.manifest.library,
                                                    resolve_path(record.manifest.library, character.folder)));
    if (record.manifest.kind != PluginKind::character)
        throw Error(Errc::invalid_file, record.manifest.manifest_path + ": hooks must be a plugin of kind \"character\"");
    detail::load_plugin(record, impl_->services);
    if (!record.ok)
        throw Error(Errc::init_failed, fmt::format("{}: hooks failed at the {} stage: {}", character.manifest_path,
                                                   to_string(record.stage), record.message));
    Params params = record.manifest.defaults;
    params["character.id"] = character.id;
    params["character.folder"] = character.folder;
    std::shared_ptr<Object> object;
    Status status = record.module->create(params, object);
    if (!status || !object) throw Error(status.ok() ? Errc::runtime : status.code(), character.hooks_library + ": " + status.message());
    cached = std::static_pointer_cast<CharacterHooks>(object);
    return cached;
}

namespace {

/// The longest prompt a scene gives the character: its longest scenario, with two earlier lines
/// of the longest allowed length quoted (cmd_scene's situation_in_context).
std::string longest_prompt(const Character& c) {
    std::string situation = "회의 중", action;
    for (const auto& s : c.scenarios) {
        if (s.situation.size() > situation.size()) situation = s.situation;
        if (s.action.size() > action.size()) action = s.action;
    }
    std::string quoted;
    for (int i = 0; i < 2; ++i) {
        std::string line;
        for (int k = 0; k < c.max_line_chars; ++k) line += "가";
        quoted += (quoted.empty() ? "" : " ") + c.name + ": \"" + line + "\"";
    }
    return render_prompt(c, situation + " (앞선 대화: " + quoted + ")", action);
}

}  // namespace

std::vector<std::string> Host::check_character(const Character& c, bool use_backends) const {
    std::vector<std::string> problems;
    auto check_plugin = [&](const std::string& name, PluginKind kind, const char* key) {
        const PluginRecord* r = find_plugin(name);
        if (r && !r->ok && r->stage == LoadStage::manifest && r->message.empty())
            r = &const_cast<Host*>(this)->load(name);  // discovered only (load_plugins = false): load it now
        if (!r) {
            std::string known;
            for (const auto& p : impl_->plugins)
                if (!(p.stage == LoadStage::manifest && !p.message.empty()) && p.manifest.kind == kind)
                    known += (known.empty() ? "" : ", ") + p.manifest.name;
            problems.push_back(fmt::format("{}: {} = '{}' is no plugin (known {} plugins: {})", c.manifest_path, key, name,
                                           to_string(kind), known.empty() ? "none" : known));
            return false;
        }
        if (!r->ok) {
            problems.push_back(fmt::format("{}: {} = '{}' failed to load at the {} stage: {}", c.manifest_path, key, name,
                                           to_string(r->stage), r->message));
            return false;
        }
        if (r->manifest.kind != kind) {
            problems.push_back(fmt::format("{}: {} = '{}' is a {} plugin, not a {}", c.manifest_path, key, name,
                                           to_string(r->manifest.kind), to_string(kind)));
            return false;
        }
        return true;
    };
    const bool text_ok = check_plugin(c.text_backend, PluginKind::text_backend, "text.backend");
    const bool speech_ok = check_plugin(c.speech_backend, PluginKind::speech_backend, "speech.backend");
    try {
        (void)hooks(c);
    } catch (const Error& e) {
        problems.push_back(fmt::format("{}: hooks: {}", c.manifest_path, e.what()));
    }
    if (!use_backends) return problems;
    if (text_ok) {
        try {
            std::string key = c.text_backend;
            for (const auto& [k, v] : c.text_params) key += "\n" + k + "=" + v;
            auto& cached = impl_->checked_backends[key];
            if (!cached) cached = create_as<TextBackend>(c.text_backend, PluginKind::text_backend, c.text_params);
            auto backend = std::static_pointer_cast<TextBackend>(cached);
            TextRequest request;
            request.prompt = longest_prompt(c);
            request.sampling = c.sampling;
            request.sampling.greedy = true;
            request.sampling.max_new_tokens = 1;
            bool adapter_ok = true;
            if (!c.adapter.empty()) {
                Status s = backend->load_adapter(c.id, c.adapter);
                if (!s) problems.push_back(fmt::format("{}: text.adapter: {}", c.manifest_path, s.message()));
                adapter_ok = s.ok();
                request.adapter = c.id;
            }
            TextResult result;
            Status s = adapter_ok ? backend->generate(request, result, nullptr, nullptr) : Status();
            if (!s) problems.push_back(fmt::format("{}: the text backend cannot answer the character's longest prompt "
                                                   "({} characters): {}",
                                                   c.manifest_path, utf8_length(request.prompt), s.message()));
        } catch (const Error& e) {
            problems.push_back(fmt::format("{}: text backend '{}' with [text.params]: {}", c.manifest_path, c.text_backend,
                                           e.what()));
        }
    }
    if (speech_ok) {
        try {
            auto& cached = impl_->checked_backends["speech\n" + c.speech_backend];
            if (!cached) cached = create_as<SpeechBackend>(c.speech_backend, PluginKind::speech_backend);
            auto backend = std::static_pointer_cast<SpeechBackend>(cached);
            std::vector<std::pair<std::string, Voice>> voices = {{"[speech.voice]", c.voice}};
            for (const auto& e : c.emotions) {
                voices.push_back({"emotion '" + e.emotion + "'", voice_for(c, e.emotion)});
            }
            for (const auto& [what, voice] : voices) {
                SpeechRequest request;
                request.text = "안녕하세요.";
                request.voice = voice;
                Audio audio;
                Status s = backend->synthesize(request, audio);
                if (!s) problems.push_back(fmt::format("{}: {}: {}", c.manifest_path, what, s.message()));
            }
        } catch (const Error& e) {
            problems.push_back(fmt::format("{}: speech backend '{}': {}", c.manifest_path, c.speech_backend, e.what()));
        }
    }
    return problems;
}

const std::vector<std::string>& Host::plugin_search_paths() const { return impl_->plugin_paths; }
const std::vector<std::string>& Host::character_search_paths() const { return impl_->character_paths; }
const std::vector<std::string>& Host::allowed_dirs() const { return impl_->config.allow_dirs; }

void Host::log(LogLevel level, const std::string& message) const { impl_->log(level, message); }
LogLevel Host::log_level() const { return impl_->level; }

void Host::install_interrupt_handler() { std::signal(SIGINT, on_sigint); }
bool Host::interrupted() { return g_interrupted; }

}  // namespace troupe
