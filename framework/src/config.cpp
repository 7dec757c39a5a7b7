#include "host_internal.hpp"
#include <troupe/paths.hpp>
#include <troupe/toml_reader.hpp>

#include <boost/filesystem.hpp>

#include <sstream>

namespace troupe::detail {

std::vector<std::string> split_path_list(const char* value) {
    std::vector<std::string> out;
    if (!value) return out;
    std::stringstream in(value);
    std::string item;
    while (std::getline(in, item, ':'))
        if (!item.empty()) out.push_back(item);
    return out;
}

namespace {
std::vector<std::string> resolve_all(const std::vector<std::string>& paths, const boost::filesystem::path& base) {
    std::vector<std::string> out;
    for (const auto& p : paths) out.push_back(resolve_path(p, base.string()));
    return out;
}
}  // namespace

UserConfig read_user_config(const std::string& path) {
    UserConfig config;
    config.path = path;
    toml::table table = parse_toml_file(path);
    TableReader top(path, table);
    const auto base = boost::filesystem::absolute(path).parent_path();
    if (const toml::table* plugins = top.table("plugins")) {
        TableReader r(path, *plugins, "plugins");
        config.plugin_paths = resolve_all(r.strings("paths"), base);
        r.reject_unknown();
    }
    if (const toml::table* characters = top.table("characters")) {
        TableReader r(path, *characters, "characters");
        config.character_paths = resolve_all(r.strings("paths"), base);
        config.allow_dirs = resolve_all(r.strings("allow_dirs"), base);
        r.reject_unknown();
    }
    if (const toml::table* plugin = top.table("plugin")) {
        for (auto&& [name, node] : *plugin) {
            if (!node.is_table()) top.fail(node, "[plugin." + std::string(name.str()) + "] must be a table");
            TableReader r(path, *plugin, "plugin");
            // Path-valued keys (model.dir, …) are relative to troupe.toml's folder, symlinks resolved.
            for (auto& [k, v] : r.flat(std::string(name.str())))
                config.plugin_params[std::string(name.str()) + "." + k] = is_path_key(k) ? resolve_path(v, base.string()) : v;
        }
    }
    top.reject_unknown();
    return config;
}

}  // namespace troupe::detail
