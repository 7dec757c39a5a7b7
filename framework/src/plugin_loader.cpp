#include "host_internal.hpp"

#include <boost/dll/shared_library.hpp>
#include <boost/filesystem.hpp>
#include <fmt/format.h>

#include <cstring>

namespace troupe {

const char* to_string(LoadStage stage) noexcept {
    switch (stage) {
        case LoadStage::manifest: return "manifest";
        case LoadStage::open: return "open";
        case LoadStage::symbol: return "symbol";
        case LoadStage::version: return "version";
        case LoadStage::init: return "init";
        case LoadStage::create: return "create";
        case LoadStage::loaded: return "loaded";
    }
    return "unknown";
}

namespace detail {
namespace {

// Libraries are never unloaded: LibTorch and objects plugins created must outlive static destruction.
// Leaked on purpose so no destructor runs at exit.
std::vector<boost::dll::shared_library>& loaded_libraries() {
    static auto* libraries = new std::vector<boost::dll::shared_library>();
    return *libraries;
}

void fail(PluginRecord& record, LoadStage stage, const std::string& message) {
    record.stage = stage;
    record.ok = false;
    record.message = message;
}

}  // namespace

void load_plugin(PluginRecord& record, const HostServices& services) {
    const PluginManifest& m = record.manifest;
    if (m.api_version != TROUPE_PLUGIN_API_VERSION) {
        return fail(record, LoadStage::version,
                    fmt::format("{}: manifest declares api_version {}, this host implements {}", m.manifest_path,
                                m.api_version, TROUPE_PLUGIN_API_VERSION));
    }
    if (!boost::filesystem::exists(m.library))
        return fail(record, LoadStage::open, fmt::format("{}: library file does not exist", m.library));

    boost::dll::shared_library library;
    try {
        library.load(m.library, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
    } catch (const std::exception& e) {
        return fail(record, LoadStage::open, fmt::format("{}: cannot open: {}", m.library, e.what()));
    }
    const char* symbols[] = {"troupe_plugin_api_version", "troupe_plugin_build_fingerprint", "troupe_plugin_init"};
    for (const char* symbol : symbols)
        if (!library.has(symbol))
            return fail(record, LoadStage::symbol,
                        fmt::format("{}: not a Troupe plugin: entry point '{}' is missing", m.library, symbol));
    // From here on the library stays loaded even if it is rejected (its static state may be live).
    loaded_libraries().push_back(library);

    const uint32_t api = library.get<troupe_plugin_api_version_fn>("troupe_plugin_api_version")();
    if (api != TROUPE_PLUGIN_API_VERSION)
        return fail(record, LoadStage::version,
                    fmt::format("{}: plugin API version {}, host API version {}", m.library, api,
                                TROUPE_PLUGIN_API_VERSION));
    const char* fingerprint = library.get<troupe_plugin_build_fingerprint_fn>("troupe_plugin_build_fingerprint")();
    if (!fingerprint || std::strcmp(fingerprint, build_fingerprint()) != 0)
        return fail(record, LoadStage::version,
                    fmt::format("{}: build fingerprint '{}' does not match the host's '{}'", m.library,
                                fingerprint ? fingerprint : "(null)", build_fingerprint()));

    Status status;
    Module* module = library.get<troupe_plugin_init_fn>("troupe_plugin_init")(&services, &status);
    if (!module)
        return fail(record, LoadStage::init,
                    fmt::format("{}: init failed: {}", m.library,
                                status.message().empty() ? "returned no module" : status.message()));
    if (module->kind() != m.kind)
        return fail(record, LoadStage::init,
                    fmt::format("{}: the library is a {} plugin but {} says {}", m.library,
                                to_string(module->kind()), m.manifest_path, to_string(m.kind)));
    record.module = module;
    record.stage = LoadStage::loaded;
    record.ok = true;
    record.message.clear();
}

}  // namespace detail
}  // namespace troupe
