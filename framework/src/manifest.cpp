#include "host_internal.hpp"
#include <troupe/toml_reader.hpp>

#include <boost/filesystem.hpp>

namespace troupe::detail {

namespace {
bool valid_word(const std::string& w) {
    if (w.empty() || w.front() == '-') return false;
    for (char ch : w)
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-')) return false;
    return true;
}
}  // namespace

bool valid_command_name(const std::string& name) {
    const size_t space = name.find(' ');
    if (space == std::string::npos) return valid_word(name);
    return valid_word(name.substr(0, space)) && valid_word(name.substr(space + 1));
}

PluginManifest read_plugin_manifest(const std::string& path) {
    toml::table table = parse_toml_file(path);
    TableReader r(path, table);
    PluginManifest m;
    m.manifest_path = path;
    m.name = r.string("name", true);
    if (m.name.empty() || m.name.find_first_of("/\\ ") != std::string::npos)
        r.fail_key("name", "must be a non-empty name without spaces or slashes");
    std::string kind = r.string("kind", true);
    if (!parse_plugin_kind(kind, m.kind))
        r.fail_key("kind", "must be one of text-backend, speech-backend, transcriber, speaker-encoder, "
                           "quality-estimator, character (got '" + kind + "')");
    m.version = r.string("version", true);
    m.api_version = uint32_t(r.integer("api_version", 0, 1, 1 << 20));
    if (!r.has("api_version")) r.fail_key("api_version", "is required");
    std::string library = r.string("library", true);
    if (library.empty() || library.find('/') != std::string::npos || library.find("..") != std::string::npos)
        r.fail_key("library", "must be a file name beside plugin.toml");
    m.library = (boost::filesystem::path(path).parent_path() / library).string();
    m.description = r.string("description");
    m.capabilities = r.strings("capabilities");
    m.defaults = r.flat("defaults");
    for (const toml::table* t : r.tables("commands")) {
        TableReader c(path, *t, "commands");
        PluginCommand command;
        command.name = c.string("name", true);
        command.summary = c.string("summary", true);
        if (!valid_command_name(command.name))
            c.fail_key("name", "must be one or two words of a-z, 0-9 and '-' separated by one space (got '" +
                                   command.name + "')");
        if (m.api_version < 2) c.fail_key("name", "[[commands]] needs api_version = 2 or later");
        for (const PluginCommand& earlier : m.commands)
            if (earlier.name == command.name) c.fail_key("name", "'" + command.name + "' is declared twice");
        c.reject_unknown();
        m.commands.push_back(command);
    }
    r.reject_unknown();
    return m;
}

std::string peek_plugin_name(const std::string& path) noexcept {
    try {
        toml::table table = parse_toml_file(path);
        if (const auto* name = table.get_as<std::string>("name")) return name->get();
    } catch (...) {
    }
    return {};
}

}  // namespace troupe::detail
