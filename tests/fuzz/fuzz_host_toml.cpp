// libFuzzer target for the host's TOML readers of untrusted manifests: plugin.toml
// (detail::read_plugin_manifest, first input byte even) and the user's troupe.toml
// (detail::read_user_config, first byte odd). Any input must parse or throw troupe::Error; every
// other exception, crash or sanitizer report is a finding.
#include "fuzz_util.hpp"
#include "host_internal.hpp"

#include <troupe/status.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    try {
        if (data[0] % 2 == 0) {
            const std::string path = troupe::fuzz::write_input("plugin/plugin.toml", data + 1, size - 1);
            (void)troupe::detail::read_plugin_manifest(path);
        } else {
            const std::string path = troupe::fuzz::write_input("troupe.toml", data + 1, size - 1);
            (void)troupe::detail::read_user_config(path);
        }
    } catch (const troupe::Error&) {
    }
    return 0;
}
