// troupe/data/check.hpp — validation of persona SFT JSONL files (`troupe data check`).
//
// One JSON object per line: "instruction", "input" ("상황: … [지문: …]") and "output" strings,
// optionally "character" and "situation_id" strings. The checker reports every problem with its
// file and 1-based line number; it never stops at the first one.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::data {

/// Limits, in Unicode code points.
struct CheckOptions {
    size_t max_instruction = 1000;
    size_t max_input = 300;
    size_t max_output = 200;
    bool check_leaks = true;     // situations shared between files (only with several files)
};

/// Problem kinds (stable strings, used in --json output).
namespace kind {
inline constexpr const char* unreadable = "unreadable";          // file cannot be opened
inline constexpr const char* blank_line = "blank_line";
inline constexpr const char* invalid_json = "invalid_json";
inline constexpr const char* schema = "schema";                  // not an object, missing/non-string field
inline constexpr const char* empty_field = "empty_field";
inline constexpr const char* overlong_field = "overlong_field";
inline constexpr const char* whitespace = "whitespace";          // leading/trailing whitespace
inline constexpr const char* bad_input = "bad_input";            // not "상황: … [지문: …]"
inline constexpr const char* duplicate_example = "duplicate_example";
inline constexpr const char* duplicate_output = "duplicate_output";
inline constexpr const char* inconsistent = "inconsistent";      // one character, several instructions
inline constexpr const char* leak = "leak";                      // situation in several files
}  // namespace kind

struct Problem {
    std::string file;
    size_t line = 0;             // 1-based; 0 for whole-file problems
    std::string kind;
    std::string message;
    std::string where() const;   // "file:line"
};

struct FileSummary {
    std::string file;
    size_t lines = 0;                          // non-blank lines
    size_t examples = 0;                       // lines that passed the schema
    std::map<std::string, size_t> characters;  // examples per "character" ("" when absent)
    size_t situations = 0;                     // distinct situations (id, else 상황 text)
};

struct CheckReport {
    std::vector<FileSummary> files;
    std::vector<Problem> problems;
    bool ok() const { return problems.empty(); }
    std::map<std::string, size_t> counts_by_kind() const;
};

/// The parts of an input "상황: <situation> [지문: <direction>]"; false when it does not match.
bool split_input(const std::string& input, std::string& situation, std::string& direction);

/// Number of Unicode code points in UTF-8 text.
size_t code_points(const std::string& utf8);

/// Checks the files together (duplicates and leaks are looked for across all of them).
CheckReport check_files(const std::vector<std::string>& paths, const CheckOptions& options = {});

/// Checks one file's content already in memory, as check_files does a file (`name` stands for its
/// path in the report).
CheckReport check_text(const std::string& name, std::string_view text, const CheckOptions& options = {});

/// The report as JSON text (the --json summary).
std::string to_json(const CheckReport& report, int indent = 2);

}  // namespace troupe::data
