// troupe/eval/report.hpp — report.md (the seed's 항목 | 지표 | 목표치 | 결과치 | 판정 tables per
// character and backend), report.html (the same plus inline SVG plots, viewable offline) and the
// comparison of two runs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace troupe::eval {

std::string render_markdown(const nlohmann::json& results);
std::string render_html(const nlohmann::json& results);

/// Deltas per report row between two results documents and the verdicts that changed (Markdown).
std::string compare_results(const nlohmann::json& a, const nlohmann::json& b, const std::string& label_a,
                            const std::string& label_b, nlohmann::json* as_json = nullptr);

}  // namespace troupe::eval
