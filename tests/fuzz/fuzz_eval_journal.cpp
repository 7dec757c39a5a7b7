// libFuzzer target for the eval journal (cases.jsonl): eval::read_journal (results, `eval compare`)
// and the Journal constructor that reads it back when a run resumes (and truncates a torn tail).
// Either must read or throw troupe::Error.
#include "fuzz_util.hpp"

#include <troupe/eval/journal.hpp>
#include <troupe/eval/results.hpp>
#include <troupe/status.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string path = troupe::fuzz::write_input("run/cases.jsonl", data, size);
    try {
        (void)troupe::eval::read_journal(path);
    } catch (const troupe::Error&) {
    }
    try {
        troupe::eval::Journal journal(path, "abc", nlohmann::json::object());
        (void)journal.rows();
    } catch (const troupe::Error&) {
    }
    return 0;
}
