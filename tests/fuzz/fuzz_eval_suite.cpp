// libFuzzer target for eval suites (troupe::eval::load_suite) and the canonical JSON form the
// harness hashes. Any input must load or throw troupe::Error.
#include "fuzz_util.hpp"

#include <troupe/eval/suite.hpp>
#include <troupe/status.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = troupe::fuzz::write_input("suites/suite.toml", data, size);
    try {
        const troupe::eval::Suite suite = troupe::eval::load_suite(path);
        (void)suite.to_json().dump();
    } catch (const troupe::Error&) {
    }
    return 0;
}
