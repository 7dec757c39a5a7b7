// libFuzzer target for GPT-SoVITS dataset lists (`list.txt`, prepare::read_list). Bad lines are
// reported as problems; the file must read or throw troupe::Error. Entries that read back must
// format as list lines again, or be refused with troupe::Error (format_list_line's contract).
#include "fuzz_util.hpp"
#include "prepare/dataset_list.hpp"

#include <troupe/status.hpp>

namespace prep = troupe::sovits::prepare;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = troupe::fuzz::write_input("list.txt", data, size);
    std::vector<prep::Problem> problems;
    try {
        for (const prep::ListEntry& e : prep::read_list(path, problems)) {
            (void)prep::normalize_language(e.language);
            (void)prep::item_name(e.wav);
            try {
                (void)prep::format_list_line(e);
            } catch (const troupe::Error&) {
            }
        }
    } catch (const troupe::Error&) {
    }
    return 0;
}
