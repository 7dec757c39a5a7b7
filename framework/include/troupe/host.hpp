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
    std::string manifest_path;
};

/// One plugin the host found: loaded, or failed at `stage` with `message`.
struct PluginRecord {
    PluginManifest manifest;             // name may be empty when the manifest itself failed
    LoadStage stage = LoadStage::manifest;
    bool ok = false;
    std::string message;                 // failure reason, naming the path
    Module* module = nullptr;            // set when ok
};

/// Options a program gives the host; empty fields fall back to TROUPE_* environment variables,
/// then troupe.toml, then built-in defaults (the build/install directories).
struct HostOptions {
    std::vector<std::string> plugin_paths;     // --plugin-path
    std::vector<std::string> character_paths;  // --characters
    std::string config_file;                   // --config (default: ./troupe.toml if present)
    LogLevel log_level = LogLevel::info;
    bool load_plugins = true;                  // false: only read manifests
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
    /// The loaded plugin called `name`, or nullptr.
    const PluginRecord* find_plugin(const std::string& name) const;
    /// Creates an object from plugin `name` with its manifest defaults overridden by `params`;
    /// throws Error (not_found, or the plugin's status) on failure.
    std::shared_ptr<Object> create(const std::string& plugin, const Params& params = {}) const;
    template <class T>
    std::shared_ptr<T> create_as(const std::string& plugin, PluginKind kind, const Params& params = {}) const;

    const std::vector<Character>& characters() const;
    const std::vector<CharacterIssue>& character_issues() const;
    /// The character with this id or display name; throws Error(not_found) listing the known ids.
    const Character& character(const std::string& id_or_name) const;

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

/// Installed/build-tree locations compiled into the host.
std::string default_plugin_dir();
std::string default_character_dir();
std::string source_dir();  // the source tree the host was built from ("" when installed elsewhere)

}  // namespace troupe
