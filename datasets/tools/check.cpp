#include <troupe/data/check.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <string_view>
#include <set>
#include <unordered_map>
#include <utility>

namespace troupe::data {
namespace {

constexpr const char* kSituationPrefix = "상황: ";
constexpr const char* kDirectionOpen = " [지문: ";

struct Location {
    size_t file;  // index into the report's files
    size_t line;
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

bool blank(const std::string& s) {
    for (char c : s)
        if (!is_space(c)) return false;
    return true;
}

std::string trimmed_cr(std::string line) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
}

std::string shorten(const std::string& utf8, size_t max_points = 40) {
    std::string out;
    size_t points = 0;
    for (size_t i = 0; i < utf8.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(utf8[i]);
        if ((c & 0xC0) != 0x80) {
            if (points == max_points) return out + "…";
            ++points;
        }
        out += utf8[i];
    }
    return out;
}

/// nlohmann's tree builder, except that a syntax error is kept (the message json::parse would throw)
/// instead of thrown: a file of bad lines costs no exception per line.
struct QuietDomParser : nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
    explicit QuietDomParser(nlohmann::json& result) : json_sax_dom_parser(result, false) {}
    template <class Exception>
    bool parse_error(std::size_t, const std::string&, const Exception& e) {
        error = e.what();
        return false;
    }
    std::string error;
};

class Checker {
public:
    Checker(const CheckOptions& options, CheckReport& report) : options_(options), report_(report) {}

    void file(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            report_.files.push_back(FileSummary{path});
            problem(report_.files.size() - 1, 0, kind::unreadable, "cannot open the file");
            return;
        }
        std::string bytes;
        char buffer[65536];
        while (in.read(buffer, sizeof buffer) || in.gcount() > 0) bytes.append(buffer, size_t(in.gcount()));
        text(path, bytes);  // a read error (a folder, EIO) keeps the lines read before it
        if (in.bad()) problem(report_.files.size() - 1, 0, kind::unreadable, "read error");
    }

    void text(const std::string& name, std::string_view content) {
        const size_t index = report_.files.size();
        report_.files.push_back(FileSummary{name});
        std::set<std::string> situations;
        size_t line_no = 0;
        for (size_t at = 0; at < content.size();) {
            const size_t end = std::min(content.find('\n', at), content.size());
            const std::string line = trimmed_cr(std::string(content.substr(at, end - at)));
            at = end + 1;
            ++line_no;
            if (blank(line)) {
                problem(index, line_no, kind::blank_line, "blank line");
                continue;
            }
            ++report_.files[index].lines;
            std::string situation_key;
            if (example(index, line_no, line, situation_key)) {
                ++report_.files[index].examples;
                if (!situation_key.empty()) situations.insert(situation_key);
            }
        }
        report_.files[index].situations = situations.size();
    }

private:
    void problem(size_t file, size_t line, const char* k, std::string message) {
        report_.problems.push_back(Problem{report_.files[file].file, line, k, std::move(message)});
    }

    std::string where(const Location& at) const {
        return report_.files[at.file].file + ":" + std::to_string(at.line);
    }

    // Validates one line; true when it is a usable example (schema fine). `situation_key` is the
    // situation id or, without one, the situation text.
    bool example(size_t file, size_t line, const std::string& text, std::string& situation_key) {
        nlohmann::json j;
        QuietDomParser sax(j);
        if (!nlohmann::json::sax_parse(text, &sax) || j.is_discarded()) {  // parse_error; out_of_range for 1e400
            problem(file, line, kind::invalid_json, sax.error);
            return false;
        }
        if (!j.is_object()) {
            problem(file, line, kind::schema, std::string("expected a JSON object, got ") + j.type_name());
            return false;
        }
        bool schema_ok = true;
        auto field = [&](const char* name, bool required, size_t max_points) -> std::string {
            auto it = j.find(name);
            if (it == j.end()) {
                if (required) {
                    problem(file, line, kind::schema, std::string("missing field \"") + name + "\"");
                    schema_ok = false;
                }
                return {};
            }
            if (!it->is_string()) {
                problem(file, line, kind::schema,
                        std::string("field \"") + name + "\" must be a string, got " + it->type_name());
                schema_ok = false;
                return {};
            }
            std::string value = it->get<std::string>();
            if (blank(value)) {
                problem(file, line, kind::empty_field, std::string("field \"") + name + "\" is empty");
            } else {
                if (is_space(value.front()) || is_space(value.back()))
                    problem(file, line, kind::whitespace,
                            std::string("field \"") + name + "\" has leading or trailing whitespace");
                const size_t n = code_points(value);
                if (max_points > 0 && n > max_points)
                    problem(file, line, kind::overlong_field,
                            std::string("field \"") + name + "\" has " + std::to_string(n) +
                                " characters (max " + std::to_string(max_points) + ")");
            }
            return value;
        };
        const std::string instruction = field("instruction", true, options_.max_instruction);
        const std::string input = field("input", true, options_.max_input);
        const std::string output = field("output", true, options_.max_output);
        const std::string character = field("character", false, 100);
        const std::string situation_id = field("situation_id", false, 200);
        if (!schema_ok) return false;
        ++report_.files[file].characters[character];

        std::string situation, direction;
        if (!blank(input) && !split_input(input, situation, direction))
            problem(file, line, kind::bad_input,
                    "input \"" + shorten(input) + "\" does not match \"상황: … [지문: …]\"");

        const Location here{file, line};
        if (!blank(output)) {
            const std::string key = instruction + '\x1f' + input + '\x1f' + output;
            auto [it, fresh] = examples_.emplace(key, here);
            if (!fresh) {
                problem(file, line, kind::duplicate_example, "same instruction, input and output as " + where(it->second));
            } else {
                auto [out_it, out_fresh] = outputs_.emplace(output, here);
                if (!out_fresh)
                    problem(file, line, kind::duplicate_output,
                            "output \"" + shorten(output) + "\" also at " + where(out_it->second));
            }
        }

        if (!character.empty() && !blank(instruction)) {
            auto [it, fresh] = instructions_.emplace(character, std::make_pair(instruction, here));
            if (!fresh && it->second.first != instruction)
                problem(file, line, kind::inconsistent,
                        "character \"" + character + "\" has a different instruction than at " +
                            where(it->second.second));
        }

        if (!situation_id.empty()) leak_check("situation_id \"" + situation_id + "\"", "id:" + situation_id, here);
        if (!situation.empty()) leak_check("situation \"" + shorten(situation) + "\"", "text:" + situation, here);
        situation_key = !situation_id.empty() ? "id:" + situation_id : (situation.empty() ? "" : "text:" + situation);
        return true;
    }

    void leak_check(const std::string& label, const std::string& key, const Location& here) {
        if (!options_.check_leaks) return;
        auto [it, fresh] = situations_.emplace(key, here);
        if (fresh || it->second.file == here.file) return;
        // Report once per (situation, file) pair, at its first line in the later file.
        if (!leaks_reported_.insert(key + '\x1f' + std::to_string(here.file)).second) return;
        problem(here.file, here.line, kind::leak, label + " is also in " + where(it->second));
    }

    const CheckOptions& options_;
    CheckReport& report_;
    std::unordered_map<std::string, Location> examples_, outputs_, situations_;
    std::unordered_map<std::string, std::pair<std::string, Location>> instructions_;
    std::set<std::string> leaks_reported_;
};

}  // namespace

std::string Problem::where() const { return file + ":" + std::to_string(line); }

std::map<std::string, size_t> CheckReport::counts_by_kind() const {
    std::map<std::string, size_t> counts;
    for (const auto& p : problems) ++counts[p.kind];
    return counts;
}

size_t code_points(const std::string& utf8) {
    size_t n = 0;
    for (unsigned char c : utf8)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

bool split_input(const std::string& input, std::string& situation, std::string& direction) {
    const std::string prefix = kSituationPrefix, open = kDirectionOpen;
    if (input.compare(0, prefix.size(), prefix) != 0 || input.size() < prefix.size() + open.size() + 1) return false;
    if (input.back() != ']') return false;
    const size_t at = input.rfind(open);
    if (at == std::string::npos || at < prefix.size()) return false;
    situation = input.substr(prefix.size(), at - prefix.size());
    direction = input.substr(at + open.size(), input.size() - 1 - (at + open.size()));
    if (blank(situation) || blank(direction)) return false;
    if (direction.find('[') != std::string::npos || direction.find(']') != std::string::npos) return false;
    return true;
}

CheckReport check_files(const std::vector<std::string>& paths, const CheckOptions& options) {
    CheckReport report;
    CheckOptions effective = options;
    if (paths.size() < 2) effective.check_leaks = false;
    Checker checker(effective, report);
    for (const auto& path : paths) checker.file(path);
    return report;
}

CheckReport check_text(const std::string& name, std::string_view text, const CheckOptions& options) {
    CheckReport report;
    CheckOptions effective = options;
    effective.check_leaks = false;  // one file: nothing to leak into
    Checker checker(effective, report);
    checker.text(name, text);
    return report;
}

namespace {

/// `s` as a JSON string (invalid UTF-8 replaced by U+FFFD, as the summary's dump does).
void append_json_string(std::string& out, const std::string& s) {
    bool plain = true;  // printable ASCII without quote or backslash: written as it is
    for (char c : s)
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') {
            plain = false;
            break;
        }
    if (plain) {
        out += '"';
        out += s;
        out += '"';
    } else {
        out += nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
}

}  // namespace

std::string to_json(const CheckReport& report, int indent) {
    nlohmann::json j;
    j["ok"] = report.ok();
    size_t examples = 0;
    j["files"] = nlohmann::json::array();
    for (const auto& f : report.files) {
        examples += f.examples;
        j["files"].push_back({{"file", f.file},
                              {"lines", f.lines},
                              {"examples", f.examples},
                              {"situations", f.situations},
                              {"characters", f.characters}});
    }
    j["examples"] = examples;
    j["problem_counts"] = report.counts_by_kind();
    // "problems" (the last key in nlohmann's sorted order) is written directly, in the layout dump()
    // gives, rather than built as a JSON tree: a large file's problems cost a tree of four strings
    // each, built, walked and freed (most of `data check --json`'s time on a file of bad lines).
    std::string out = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
    const bool pretty = indent >= 0;
    out.pop_back();  // '}'
    if (pretty) out.pop_back();  // '\n'
    const std::string nl = pretty ? "\n" : "", in1(pretty ? size_t(indent) : 0, ' ');
    const std::string in2 = in1 + in1, in3 = in2 + in1;
    const char* colon = pretty ? ": " : ":";
    out += "," + nl + in1 + "\"problems\"" + colon;
    if (report.problems.empty()) {
        out += "[]";
    } else {
        out += "[";
        for (size_t i = 0; i < report.problems.size(); ++i) {
            const Problem& p = report.problems[i];
            out += (i ? "," : "") + nl + in2 + "{" + nl;
            out += in3 + "\"file\"" + colon;
            append_json_string(out, p.file);
            out += "," + nl + in3 + "\"kind\"" + colon;
            append_json_string(out, p.kind);
            out += "," + nl + in3 + "\"line\"" + colon + std::to_string(p.line);
            out += "," + nl + in3 + "\"message\"" + colon;
            append_json_string(out, p.message);
            out += nl + in2 + "}";
        }
        out += nl + in1 + "]";
    }
    return out + nl + "}";
}

}  // namespace troupe::data
