#include "host_internal.hpp"
#include <troupe/toml_reader.hpp>

#include <boost/filesystem.hpp>

namespace troupe::detail {

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
    r.reject_unknown();
    return m;
}

}  // namespace troupe::detail
