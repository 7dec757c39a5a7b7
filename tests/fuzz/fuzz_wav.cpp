// libFuzzer target for audio input through the project's reader (troupe::read_wav: libsndfile,
// then the down-mix). Any input must read or throw troupe::Error; whatever reads has a positive
// rate and finite-size output. Run with -malloc_limit_mb so that a header claiming more audio
// than the file holds cannot make the reader allocate gigabytes.
#include "fuzz_util.hpp"

#include <troupe/audio.hpp>
#include <troupe/status.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = troupe::fuzz::write_input("input.wav", data, size);
    try {
        const troupe::Audio a = troupe::read_wav(path);
        if (a.sample_rate <= 0 || a.samples.empty()) std::abort();
    } catch (const troupe::Error&) {
    }
    return 0;
}
