// libFuzzer target for character.toml through the host's reader (troupe::load_character), then the
// prompt rendering that uses what it read. Any input must load or throw troupe::Error.
#include "fuzz_util.hpp"

#include <troupe/character.hpp>
#include <troupe/status.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = troupe::fuzz::write_input("chars/fuzzchar/character.toml", data, size);
    const std::string folder = troupe::fuzz::scratch_dir() + "/chars/fuzzchar";
    try {
        const troupe::Character c = troupe::load_character(folder, {troupe::fuzz::scratch_dir() + "/allowed"});
        (void)troupe::render_prompt(c, "회의가 시작됐다", "커피를 든다");
    } catch (const troupe::Error&) {
    }
    return 0;
}
