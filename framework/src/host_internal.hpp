// Internal pieces of the host library shared between its source files.
#pragma once

#include <troupe/host.hpp>

#include <string>
#include <vector>

namespace troupe::detail {

/// Parses and validates a plugin.toml; throws Error with file:line:col.
PluginManifest read_plugin_manifest(const std::string& path);

/// True for "word" or "group word" (lowercase letters, digits, '-'; not starting with '-').
bool valid_command_name(const std::string& name);

/// The `name` a plugin.toml declares, even when the rest of it is invalid ("" when unreadable),
/// so that a failed plugin is listed under its name.
std::string peek_plugin_name(const std::string& path) noexcept;

/// Opens, checks and initialises the plugin a manifest describes, filling record.stage/ok/message.
/// Libraries are kept loaded for the rest of the process.
void load_plugin(PluginRecord& record, const HostServices& services);

/// The user configuration file (troupe.toml).
struct UserConfig {
    std::string path;                          // empty when none was found
    std::vector<std::string> plugin_paths;     // [plugins] paths
    std::vector<std::string> character_paths;  // [characters] paths
    std::vector<std::string> allow_dirs;       // [characters] allow_dirs
    Params plugin_params;                      // [plugin.<name>] tables, flattened "<name>.<key>"
};
UserConfig read_user_config(const std::string& path);

/// Splits a PATH-like variable on ':'.
std::vector<std::string> split_path_list(const char* value);

}  // namespace troupe::detail
