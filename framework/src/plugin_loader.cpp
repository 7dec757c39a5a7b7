#include "host_internal.hpp"

#include <boost/dll/shared_library.hpp>
#include <boost/filesystem.hpp>
#include <fmt/format.h>

#include <cstring>
#include <map>
#include <dlfcn.h>
#include <fstream>

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

const char* host_fingerprint() noexcept { return TROUPE_BUILD_FINGERPRINT; }
const char* host_torch_version() noexcept { return TROUPE_BUILD_TORCH_VERSION; }

std::string fingerprint_mismatch(const std::string& plugin_fingerprint) {
    // "key=value;key=value": version 1 plugins also name "api" (checked on its own) and always "torch".
    auto parse = [](const std::string& text) {
        std::map<std::string, std::string> out;
        size_t start = 0;
        while (start <= text.size()) {
            size_t end = text.find(';', start);
            if (end == std::string::npos) end = text.size();
            const std::string item = text.substr(start, end - start);
            const size_t eq = item.find('=');
            if (eq != std::string::npos) out[item.substr(0, eq)] = item.substr(eq + 1);
            start = end + 1;
        }
        return out;
    };
    const auto plugin = parse(plugin_fingerprint), host = parse(host_fingerprint());
    std::string why;
    for (const char* key : {"compiler", "cxx11abi"}) {
        auto p = plugin.find(key);
        const std::string have = p == plugin.end() ? "(none)" : p->second;
        if (have != host.at(key)) why += fmt::format("{}{} {} is not the host's {}", why.empty() ? "" : "; ", key, have, host.at(key));
    }
    if (auto t = plugin.find("torch"); t != plugin.end() && t->second != host_torch_version())
        why += fmt::format("{}LibTorch {} is not the build's {} (one LibTorch per process)", why.empty() ? "" : "; ",
                           t->second, host_torch_version());
    return why;
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
    if (m.api_version < TROUPE_PLUGIN_API_VERSION_MIN || m.api_version > TROUPE_PLUGIN_API_VERSION) {
        return fail(record, LoadStage::version,
                    fmt::format("{}: manifest declares api_version {}, this host implements {} to {}", m.manifest_path,
                                m.api_version, TROUPE_PLUGIN_API_VERSION_MIN, TROUPE_PLUGIN_API_VERSION));
    }
    if (!boost::filesystem::exists(m.library))
        return fail(record, LoadStage::open, fmt::format("{}: library file does not exist", m.library));

    // Refuse what is not a shared object by its header, and take the loader's own message
    // (dlerror) for one that does not open: boost.dll's error code says only "Bad file descriptor".
    {
        std::ifstream in(m.library, std::ios::binary);
        char magic[4] = {};
        in.read(magic, 4);
        if (!in || std::memcmp(magic, "\x7f" "ELF", 4) != 0)
            return fail(record, LoadStage::open,
                        fmt::format("{}: not a shared library (no ELF header); rebuild the plugin", m.library));
        void* handle = ::dlopen(m.library.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
            const char* why = ::dlerror();
            return fail(record, LoadStage::open, fmt::format("{}: cannot open: {}", m.library, why ? why : "unknown error"));
        }
        // Balanced by nothing on purpose: libraries are never unloaded (boost.dll below takes its own reference).
    }
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
    if (api < TROUPE_PLUGIN_API_VERSION_MIN || api > TROUPE_PLUGIN_API_VERSION)
        return fail(record, LoadStage::version,
                    fmt::format("{}: plugin API version {}, host API version {} (loads {} to {})", m.library, api,
                                TROUPE_PLUGIN_API_VERSION, TROUPE_PLUGIN_API_VERSION_MIN, TROUPE_PLUGIN_API_VERSION));
    const char* fingerprint = library.get<troupe_plugin_build_fingerprint_fn>("troupe_plugin_build_fingerprint")();
    const std::string mismatch = fingerprint_mismatch(fingerprint ? fingerprint : "");
    if (!mismatch.empty())
        return fail(record, LoadStage::version,
                    fmt::format("{}: build fingerprint '{}' does not fit the host's '{}' (LibTorch {}): {}", m.library,
                                fingerprint ? fingerprint : "(null)", host_fingerprint(), host_torch_version(),
                                mismatch));
    troupe_plugin_run_command_fn* run_command = nullptr;
    if (library.has("troupe_plugin_run_command"))
        run_command = &library.get<troupe_plugin_run_command_fn>("troupe_plugin_run_command");
    if (!m.commands.empty() && !run_command)
        return fail(record, LoadStage::symbol,
                    fmt::format("{}: {} declares commands but the library does not export troupe_plugin_run_command",
                                m.library, m.manifest_path));

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
    record.run_command = run_command;
    record.stage = LoadStage::loaded;
    record.ok = true;
    record.message.clear();
}

}  // namespace detail
}  // namespace troupe
