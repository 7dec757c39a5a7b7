// troupe/eval/results.hpp — aggregation of a run's journal into results.json (every number, per-case
// rows, config hash, plugin versions, seeds, git revision) and the seed-style report rows
// (항목 | 지표 | 목표치 | 결과치 | 판정) per character and backend.
#pragma once

#include <troupe/eval/suite.hpp>
#include <troupe/host.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace troupe::eval {

/// Reads cases.jsonl (header, events, case rows), ignoring a torn last line; throws Error when absent.
struct JournalContents {
    nlohmann::json header;
    std::vector<nlohmann::json> events, rows;
};
JournalContents read_journal(const std::string& path);

/// Builds the whole results document from the run folder.
nlohmann::json build_results(const Suite& suite, const Host& host, const std::string& out_dir);

/// Verdict words used in reports.
inline const char* kPass = "통과";
inline const char* kFail = "미달";
inline const char* kNA = "n/a";
inline const char* kInfo = "참고";

}  // namespace troupe::eval
