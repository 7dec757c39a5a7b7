#include "prepare/dataset_list.hpp"

#include "text/utf8.hpp"

#include <troupe/status.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace troupe::sovits::prepare {

namespace fs = std::filesystem;

std::string normalize_language(std::string_view code) {
    static const std::pair<const char*, const char*> kCodes[] = {
        {"ZH", "zh"}, {"zh", "zh"}, {"JP", "ja"}, {"jp", "ja"}, {"JA", "ja"}, {"ja", "ja"},
        {"EN", "en"}, {"En", "en"}, {"en", "en"}, {"KO", "ko"}, {"Ko", "ko"}, {"ko", "ko"},
        {"YUE", "yue"}, {"Yue", "yue"}, {"yue", "yue"}};
    for (const auto& [from, to] : kCodes)
        if (code == from) return to;
    return {};
}

std::string list_field_problem(std::string_view text) {
    if (text.empty()) return "empty";
    if (text.find('|') != std::string_view::npos) return "contains '|' (the list's field separator)";
    if (text.find('\n') != std::string_view::npos || text.find('\r') != std::string_view::npos)
        return "contains a line break";
    if (text.find('\t') != std::string_view::npos) return "contains a tab (the separator of 2-name2text.txt)";
    try {
        (void)text::utf8_to_u32(text);
    } catch (const std::exception&) {
        return "is not valid UTF-8";
    }
    return {};
}

std::string format_list_line(const ListEntry& e) {
    const std::pair<const char*, const std::string*> fields[] = {
        {"wav path", &e.wav}, {"speaker", &e.speaker}, {"language", &e.language}, {"text", &e.text}};
    for (const auto& [what, value] : fields) {
        const std::string problem = list_field_problem(*value);
        if (!problem.empty())
            throw Error(Errc::invalid_argument,
                        fmt::format("{}: the {} '{}' cannot be written to a list: {}",
                                    e.source.empty() ? e.wav : e.source, what, *value, problem));
    }
    return fmt::format("{}|{}|{}|{}", e.wav, e.speaker, e.language, e.text);
}

std::vector<ListEntry> read_list(const std::string& path, std::vector<Problem>& problems) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(fs::exists(path) ? Errc::invalid_file : Errc::not_found, path + ": cannot open the list file");
    std::string bytes;
    char buffer[65536];
    while (in.read(buffer, sizeof buffer) || in.gcount() > 0) bytes.append(buffer, size_t(in.gcount()));
    if (in.bad()) throw Error(Errc::invalid_file, path + ": read error");
    return read_list_text(bytes, path, problems);
}

std::vector<ListEntry> read_list_text(std::string_view text, const std::string& path, std::vector<Problem>& problems) {
    std::vector<ListEntry> entries;
    size_t number = 0;
    for (size_t at = 0; at < text.size();) {
        const size_t end = std::min(text.find('\n', at), text.size());
        std::string_view line = text.substr(at, end - at);
        at = end + 1;
        ++number;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (number == 1 && line.substr(0, 3) == "\xEF\xBB\xBF") line.remove_prefix(3);
        if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
        std::vector<std::string_view> fields;
        for (size_t start = 0;;) {
            const size_t bar = line.find('|', start);
            fields.push_back(line.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
            if (bar == std::string_view::npos) break;
            start = bar + 1;
        }
        const std::string where = fmt::format("{}:{}", path, number);
        if (fields.size() != 4) {
            problems.push_back({where, "list",
                                fmt::format("expected 4 fields wav|speaker|language|text, found {}", fields.size())});
            continue;
        }
        entries.push_back({std::string(fields[0]), std::string(fields[1]), std::string(fields[2]),
                           std::string(fields[3]), where});
    }
    return entries;
}

void write_text_file(const std::string& path, const std::string& content) {
    const fs::path target(path);
    if (target.has_parent_path()) fs::create_directories(target.parent_path());
    const fs::path tmp = target.string() + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error(Errc::runtime, tmp.string() + ": cannot create the file");
        out.write(content.data(), std::streamsize(content.size()));
        out.flush();
        if (!out) throw Error(Errc::runtime, tmp.string() + ": write failed");
    }
    std::error_code ec;
    fs::rename(tmp, target, ec);
    if (ec) throw Error(Errc::runtime, fmt::format("{}: cannot rename into place: {}", path, ec.message()));
}

void write_list(const std::string& path, const std::vector<ListEntry>& entries) {
    std::string content;
    for (const auto& e : entries) content += format_list_line(e) + "\n";
    write_text_file(path, content);
}

std::string item_name(std::string_view wav_path) {
    const size_t slash = wav_path.rfind('/');  // os.path.basename on POSIX
    return std::string(slash == std::string_view::npos ? wav_path : wav_path.substr(slash + 1));
}

}  // namespace troupe::sovits::prepare
