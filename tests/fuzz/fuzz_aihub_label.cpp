// libFuzzer target for AI Hub label JSON, read as scan_aihub reads each label: the product's parse
// (nlohmann::json::parse after a UTF-8 BOM is dropped; a parse error is a refused label), then
// read_label_fields, clean_transcript (all three dual-transcript modes) and list_field_problem.
// Anything but troupe::Error out of the troupe functions is a finding.
#include "prepare/aihub.hpp"

#include <troupe/status.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace prep = troupe::sovits::prepare;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string content(reinterpret_cast<const char*>(data), size);
    if (content.rfind("\xEF\xBB\xBF", 0) == 0) content.erase(0, 3);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(content);
    } catch (const nlohmann::json::exception&) {
        return 0;  // a refused label, as in scan_aihub
    }
    try {
        const prep::LabelFields f = prep::read_label_fields(j, "fuzz.json");
        for (auto dual : {prep::DualTranscript::pronounced, prep::DualTranscript::first, prep::DualTranscript::second})
            (void)prep::list_field_problem(prep::clean_transcript(f.text, dual));
        (void)prep::is_audio_file(f.audio);
    } catch (const troupe::Error&) {
    }
    return 0;
}
