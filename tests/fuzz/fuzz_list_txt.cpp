// libFuzzer target for GPT-SoVITS dataset lists (`list.txt`, prepare::read_list_text: read_list's
// parser, on the bytes in memory; read_list only reads the file into it). Bad lines are reported
// as problems; the text must read or throw troupe::Error. Entries that read back must
// format as list lines again, or be refused with troupe::Error (format_list_line's contract).
#include "prepare/dataset_list.hpp"

#include <cstdint>

#include <troupe/status.hpp>

namespace prep = troupe::sovits::prepare;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::vector<prep::Problem> problems;
    try {
        for (const prep::ListEntry& e : prep::read_list_text(text, "list.txt", problems)) {
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
