// troupe/eval/format.hpp — format consistency of a generated line (IFEval-style strict and loose).
//
// A line passes when its structure is kept — one non-empty answer body, no new `###` section, no
// speaker tag, no blank-line paragraphs — AND generation ended on EOS rather than on the length limit.
//   strict: raw text, and the stop reason must be EOS.
//   loose:  text after trimming whitespace, a leading/trailing wrapper line (`### 응답:`, ``` fences,
//           quotes) and markdown `*`, and a stop on EOS or on a configured stop string (`###`).
#pragma once

#include <troupe/types.hpp>

#include <string>
#include <vector>

namespace troupe::eval {

struct FormatSpec {
    std::string section_marker = "###";       // a new section in the output breaks the structure
    std::vector<std::string> speaker_tags;    // e.g. {"부장", "부장님"}: "부장: …" is not allowed
    int max_lines = 1;                        // answer lines allowed (after the loose trim for loose)
};

struct FormatResult {
    bool strict_structure = false, loose_structure = false;
    bool stopped_on_eos = false, stopped_not_on_length = false;
    bool strict() const { return strict_structure && stopped_on_eos; }
    bool loose() const { return loose_structure && stopped_not_on_length; }
    std::string strict_reason, loose_reason;  // why it failed ("" when it passed)
    std::string cleaned;                      // the loose-trimmed answer body
};

FormatResult check_format(const std::string& text, StopReason stop, const FormatSpec& spec = {});

/// The loose trim alone (also used before measuring line length).
std::string loose_trim(const std::string& text, const FormatSpec& spec = {});

}  // namespace troupe::eval
