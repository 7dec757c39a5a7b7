#include <troupe/eval/format.hpp>

#include <troupe/eval/unicode.hpp>

#include <sstream>

namespace troupe::eval {
namespace {

std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

std::vector<std::string> split_lines(const std::string& s) {
    std::vector<std::string> lines;
    std::string line;
    std::istringstream in(s);
    while (std::getline(in, line)) lines.push_back(line);
    return lines;
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

bool is_wrapper_line(const std::string& raw, const std::string& marker) {
    std::string l = trim(raw);
    if (l.empty()) return true;
    if (!marker.empty() && starts_with(l, marker)) return true;
    if (starts_with(l, "```")) return true;
    // A bare header such as "응답:" or "답변 :".
    if (l.size() <= 16 && (l.back() == ':' || (l.size() >= 3 && l.compare(l.size() - 3, 3, "：") == 0))) return true;
    return false;
}

// "부장: …", "부장 : …", "[부장] …"
bool has_speaker_tag(const std::string& line, const std::vector<std::string>& tags, size_t* body_start) {
    for (const std::string& tag : tags) {
        if (tag.empty()) continue;
        for (const std::string& form : {tag + ":", tag + " :", "[" + tag + "]", tag + "："}) {
            if (starts_with(line, form)) {
                if (body_start) *body_start = form.size();
                return true;
            }
        }
    }
    return false;
}

std::string strip_quotes(const std::string& s) {
    static const std::pair<const char*, const char*> pairs[] = {{"\"", "\""}, {"“", "”"}, {"'", "'"}, {"「", "」"}};
    for (auto [open, close] : pairs) {
        std::string o = open, c = close;
        if (s.size() >= o.size() + c.size() && starts_with(s, o) && s.compare(s.size() - c.size(), c.size(), c) == 0)
            return trim(s.substr(o.size(), s.size() - o.size() - c.size()));
    }
    return s;
}

// Structure of an answer body: non-empty, no section marker, at most max_lines lines, no blank lines.
std::string structure_problem(const std::string& body, const FormatSpec& spec) {
    if (trim(body).empty()) return "empty answer";
    if (!spec.section_marker.empty() && body.find(spec.section_marker) != std::string::npos)
        return "contains '" + spec.section_marker + "' (a new section)";
    auto lines = split_lines(body);
    int non_empty = 0;
    for (const auto& l : lines) {
        if (trim(l).empty()) return "blank line inside the answer";
        ++non_empty;
    }
    if (non_empty > spec.max_lines) return std::to_string(non_empty) + " lines (max " + std::to_string(spec.max_lines) + ")";
    if (has_speaker_tag(trim(lines.front()), spec.speaker_tags, nullptr)) return "starts with a speaker tag";
    return {};
}

}  // namespace

std::string loose_trim(const std::string& text, const FormatSpec& spec) {
    std::vector<std::string> lines = split_lines(trim(text));
    while (!lines.empty() && trim(lines.front()).empty()) lines.erase(lines.begin());
    while (!lines.empty() && trim(lines.back()).empty()) lines.pop_back();
    if (lines.size() > 1 && is_wrapper_line(lines.front(), spec.section_marker)) lines.erase(lines.begin());
    if (lines.size() > 1 && is_wrapper_line(lines.back(), spec.section_marker)) lines.pop_back();
    std::string joined;
    for (size_t i = 0; i < lines.size(); ++i) joined += (i ? "\n" : "") + lines[i];
    std::string out;
    for (char c : joined)
        if (c != '*') out += c;
    out = trim(out);
    size_t body = 0;
    if (has_speaker_tag(out, spec.speaker_tags, &body)) out = trim(out.substr(body));
    return strip_quotes(out);
}

FormatResult check_format(const std::string& text, StopReason stop, const FormatSpec& spec) {
    FormatResult r;
    r.stopped_on_eos = stop == StopReason::eos;
    r.stopped_not_on_length = stop == StopReason::eos || stop == StopReason::stop_string;

    // strict: the raw text, allowing only one trailing newline as whitespace around it
    std::string raw = text;
    if (!raw.empty() && raw.back() == '\n') raw.pop_back();
    std::string problem;
    if (raw != trim(raw)) problem = "leading or trailing whitespace";
    else if (raw.find('*') != std::string::npos) problem = "markdown '*'";
    else if (strip_quotes(raw) != raw) problem = "wrapped in quotes";
    else problem = structure_problem(raw, spec);
    r.strict_structure = problem.empty();
    if (!r.strict_structure) r.strict_reason = problem;
    else if (!r.stopped_on_eos) r.strict_reason = std::string("stopped on ") + to_string(stop) + ", not EOS";

    r.cleaned = loose_trim(text, spec);
    std::string loose_problem = structure_problem(r.cleaned, spec);
    r.loose_structure = loose_problem.empty();
    if (!r.loose_structure) r.loose_reason = loose_problem;
    else if (!r.stopped_not_on_length) r.loose_reason = std::string("stopped on ") + to_string(stop);
    return r;
}

}  // namespace troupe::eval
