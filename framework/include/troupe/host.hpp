// troupe/host.hpp — the host library: configuration, plugin registry and characters.
//
// Programs (the troupe CLI, the eval harness, tests) create one Host. Plugin code never sees it.
#pragma once

#include <troupe/character.hpp>
#include <troupe/plugin.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace troupe {

/// Stages of loading a plugin; a failed plugin records the stage it failed at.
enum class LoadStage { manifest, open, symbol, version, init, create, loaded };
const char* to_string(LoadStage stage) noexcept;

/// A command a plugin declares in plugin.toml ([[commands]] name, summary; API version 2).
struct PluginCommand {
    std::string name;     // "lm generate": one or two lowercase words; the first may be a group
    std::string summary;  // one line for `troupe --help` and `troupe <group> --help`
};

/// The parsed plugin.toml.
struct PluginManifest {
    std::string name;
    PluginKind kind = PluginKind::text_backend;
    std::string version;
    uint32_t api_version = 0;
    std::string library;                 // absolute path of the shared library
    std::string description;
    std::vector<std::string> capabilities;
    Params defaults;                     // [defaults] table, flattened ("a.b" keys)
    std::vector<PluginCommand> commands; // [[commands]]
    std::string manifest_path;
};

/// One plugin the host found: loaded, or failed at `stage` with `message`.
struct PluginRecord {
    PluginManifest manifest;             // name may be empty when the manifest itself failed
    LoadStage stage = LoadStage::manifest;
    bool ok = false;
    std::string message;                 // failure reason, naming the path
    Module* module = nullptr;            // set when ok
    troupe_plugin_run_command_fn* run_command = nullptr;  // set when ok and the plugin exports it
};

/// A plugin command as the host knows it from the manifests (no library opened).
struct CommandEntry {
    PluginCommand command;
    std::string plugin;                  // the plugin that declares it
};

/// Options a program gives the host; empty fields fall back to TROUPE_* environment variables,
/// then troupe.toml, then built-in defaults (the build/install directories).
struct HostOptions {
    std::vector<std::string> plugin_paths;     // --plugin-path
    std::vector<std::string> character_paths;  // --characters
    std::string config_file;                   // --config (default: ./troupe.toml if present)
    LogLevel log_level = LogLevel::info;
    bool load_plugins = true;                  // false: only read manifests (load() loads one later)
    /// Command words the program itself owns ("say", "scene", ...): a plugin declaring one of them
    /// fails at the manifest stage.
    std::vector<std::string> reserved_commands;
};

class Host {
public:
    /// Reads the config, discovers and loads plugins and characters. Failures of single plugins or
    /// characters are recorded, not thrown; a malformed config file throws Error.
    explicit Host(const HostOptions& options);
    ~Host();
    Host(const Host&) = delete;
    Host& operator=(const Host&) = delete;

    const std::vector<PluginRecord>& plugins() const;
    /// The plugin called `name` (loaded, failed, or only discovered), or nullptr.
    const PluginRecord* find_plugin(const std::string& name) const;
    /// Loads plugin `name` if it was only discovered (HostOptions::load_plugins = false) and returns
    /// its record (check `ok`); throws Error(not_found) when no plugin has that name.
    const PluginRecord& load(const std::string& name);
    /// The commands all plugins declare (from their manifests; clashing plugins left out), by name.
    std::vector<CommandEntry> commands() const;
    /// The parameters plugin `name` gets: its manifest [defaults] < troupe.toml [plugin.<name>] <
    /// `overrides`, plus "host.data_dir". Throws Error(not_found) for an unknown plugin.
    Params plugin_params(const std::string& name, const Params& overrides = {}) const;
    /// Creates an object from plugin `name` with its manifest defaults overridden by `params`;
    /// throws Error (not_found, or the plugin's status) on failure. A plugin that was only discovered
    /// (load_plugins = false) is loaded first; that step is not thread-safe, so a program that creates
    /// objects from several threads loads its plugins up front (load_plugins = true, or load()).
    std::shared_ptr<Object> create(const std::string& plugin, const Params& params = {}) const;
    template <class T>
    std::shared_ptr<T> create_as(const std::string& plugin, PluginKind kind, const Params& params = {}) const;

    const std::vector<Character>& characters() const;
    const std::vector<CharacterIssue>& character_issues() const;
    /// The character with this id or display name; throws Error(not_found) listing the known ids.
    const Character& character(const std::string& id_or_name) const;

    /// What would make `character` fail at run time, beyond its manifest (which load_character
    /// checked): its text and speech backends must be loaded plugins of the right kind and its hooks
    /// must load. With `use_backends`, the backends are also created with the character's
    /// parameters, its adapter is loaded, one token is generated from its longest prompt (a scenario
    /// with two quoted earlier lines, as in a scene) and every voice (default and per emotion) says a
    /// short sentence — so `troupe characters validate` agrees with `say`, `speak` and `scene`.
    /// Returns one message per problem (empty: ok); never throws.
    std::vector<std::string> check_character(const Character& character, bool use_backends) const;

    /// The character's hooks (its `hooks` folder holds a plugin.toml of kind "character"), loaded
    /// once through the same stages as any plugin; null when it has none. Throws Error on failure.
    std::shared_ptr<CharacterHooks> hooks(const Character& character) const;

    /// Directories searched, in order, for plugins and characters (for `troupe plugins --paths`).
    const std::vector<std::string>& plugin_search_paths() const;
    const std::vector<std::string>& character_search_paths() const;
    /// Directories characters may reference outside their own folder ([characters] allow_dirs).
    const std::vector<std::string>& allowed_dirs() const;

    /// Logs through the host's logger (stderr, with level filter).
    void log(LogLevel level, const std::string& message) const;
    LogLevel log_level() const;

    /// Set by SIGINT; plugins see it through HostServices::cancel_requested.
    static void install_interrupt_handler();
    static bool interrupted();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

template <class T>
std::shared_ptr<T> Host::create_as(const std::string& plugin, PluginKind kind, const Params& params) const {
    std::shared_ptr<Object> object = create(plugin, params);
    if (object->kind() != kind)
        throw Error(Errc::invalid_argument,
                    "plugin '" + plugin + "' is a " + to_string(object->kind()) + ", not a " + to_string(kind));
    return std::static_pointer_cast<T>(object);
}

/// The host's build fingerprint ("api=2;compiler=gcc-12;cxx11abi=1").
const char* host_fingerprint() noexcept;
/// The LibTorch version of this build ("1.13.0"): a plugin whose fingerprint names LibTorch must name it.
const char* host_torch_version() noexcept;
/// Why a plugin's fingerprint does not fit this host ("" when it does): compiler, C++ ABI, LibTorch.
std::string fingerprint_mismatch(const std::string& plugin_fingerprint);

/// Installed/build-tree locations compiled into the host.
std::string default_plugin_dir();
std::string default_character_dir();
std::string source_dir();  // the source tree the host was built from ("" when installed elsewhere)

}  // namespace troupe
