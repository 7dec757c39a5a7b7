// libFuzzer target for scene scripts (troupe::load_scene). Any input must load or throw
// troupe::Error; a loaded scene's beats must name cast members.
#include "fuzz_util.hpp"

#include <troupe/scene.hpp>
#include <troupe/status.hpp>

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = troupe::fuzz::write_input("scene.toml", data, size);
    try {
        const troupe::SceneScript s = troupe::load_scene(path);
        for (const auto& beat : s.beats)
            if (std::find(s.cast.begin(), s.cast.end(), beat.speaker) == s.cast.end()) std::abort();
    } catch (const troupe::Error&) {
    }
    return 0;
}
