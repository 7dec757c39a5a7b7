#include "train/s1_dataset.hpp"

#include "text/symbols.hpp"

#include <troupe/json_file.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace troupe::sovits::train {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        const size_t p = s.find(sep, start);
        out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
        if (p == std::string::npos) break;
        start = p + 1;
    }
    return out;
}

std::vector<std::string> read_lines(const std::string& path, const char* what) {
    if (!fs::is_regular_file(path))
        throw Error(Errc::not_found, fmt::format("{}: {} not found (run `troupe tts prepare` first)", path, what));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, fmt::format("{}: cannot open {}", path, what));
    std::vector<std::string> lines;
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        lines.push_back(line);
    }
    return lines;
}

struct Transcript {
    std::vector<int64_t> ids;
    size_t line = 0;
};

// 2-name2text.txt: name → phone ids. Upstream keeps only 4-column lines; so do we, but an empty or
// unknown phone list is an error naming the line.
std::map<std::string, Transcript> read_transcripts(const S1DatasetOptions& o) {
    const auto lines = read_lines(o.phoneme_path, "phoneme file (2-name2text.txt)");
    const auto& table = text::SymbolTable::v2();
    std::map<std::string, Transcript> out;
    for (size_t n = 0; n < lines.size(); ++n) {
        if (lines[n].empty()) continue;
        const auto cols = split(lines[n], '\t');
        if (cols.size() != 4)
            throw Error(Errc::invalid_file, fmt::format("{}:{}: expected 4 tab-separated columns (name, phones, word2ph, text), got {}",
                                                        o.phoneme_path, n + 1, cols.size()));
        Transcript t;
        t.line = n + 1;
        std::istringstream ps(cols[1]);
        std::string ph;
        while (ps >> ph) {
            const int id = table.find(ph);
            if (id < 0 || id >= o.phoneme_vocab)
                throw Error(Errc::invalid_file, fmt::format("{}:{}: phone '{}' of '{}' is not in the v2 symbol table",
                                                            o.phoneme_path, n + 1, ph, cols[0]));
            t.ids.push_back(id);
        }
        if (t.ids.empty())
            throw Error(Errc::invalid_file, fmt::format("{}:{}: '{}' has an empty transcript (no phones)", o.phoneme_path, n + 1, cols[0]));
        out[cols[0]] = std::move(t);
    }
    if (out.empty()) throw Error(Errc::invalid_file, fmt::format("{}: no transcripts", o.phoneme_path));
    return out;
}

std::vector<int64_t> parse_codes(const std::string& s, const S1DatasetOptions& o, size_t line, const std::string& name) {
    std::vector<int64_t> out;
    const char* p = s.data();
    const char* end = p + s.size();
    while (p < end) {
        while (p < end && *p == ' ') ++p;
        if (p == end) break;
        int64_t v = 0;
        const auto r = std::from_chars(p, end, v);
        if (r.ec != std::errc() || (r.ptr < end && *r.ptr != ' ') || v < 0 || v >= o.semantic_vocab)
            throw Error(Errc::invalid_file, fmt::format("{}:{}: '{}' has an invalid semantic code (expected integers in [0, {}))",
                                                        o.semantic_path, line, name, o.semantic_vocab));
        out.push_back(v);
        p = r.ptr;
    }
    return out;
}

// Item names that prepare-report.json (beside 2-name2text.txt) lists as skipped by a stage after
// the text (their audio, HuBERT features or codes could not be made): their transcripts have no
// semantic row by design.
std::set<std::string> names_skipped_by_prepare(const std::string& phoneme_path) {
    std::set<std::string> out;
    const fs::path report = fs::path(phoneme_path).parent_path() / "prepare-report.json";
    if (!fs::is_regular_file(report)) return out;
    nlohmann::json j;
    try {
        j = troupe::read_json_file(report.string());
    } catch (const std::exception&) {
        return out;  // an unreadable report only means no excuses for missing rows
    }
    if (!j.contains("skipped") || !j["skipped"].is_array()) return out;
    for (const auto& p : j["skipped"]) {
        if (!p.is_object() || !p.contains("file") || !p["file"].is_string()) continue;
        const std::string stage = p.value("stage", "");
        if (stage == "labels" || stage == "list" || stage == "text") continue;
        const fs::path f(p["file"].get<std::string>());
        out.insert(f.filename().string());
        out.insert(f.stem().string());
    }
    return out;
}

}  // namespace

S1Dataset load_s1_dataset(const S1DatasetOptions& o) {
    auto transcripts = read_transcripts(o);
    const auto lines = read_lines(o.semantic_path, "semantic file (6-name2semantic.tsv)");
    if (lines.empty() || split(lines[0], '\t').size() != 2)
        throw Error(Errc::invalid_file, fmt::format("{}: expected a header line 'item_name\\tsemantic_audio'", o.semantic_path));
    const std::string bert_dir = (fs::path(o.phoneme_path).parent_path() / "3-bert").string();
    S1Dataset ds;
    std::set<std::string> seen;
    std::vector<S1Item> kept;
    const double max_codes = double(o.max_sec * o.hz), max_phones = double(o.max_sec * o.hz) / 2.5;
    for (size_t n = 1; n < lines.size(); ++n) {
        if (lines[n].empty()) continue;
        const auto cols = split(lines[n], '\t');
        if (cols.size() != 2)
            throw Error(Errc::invalid_file, fmt::format("{}:{}: expected 2 tab-separated columns (name, codes), got {}",
                                                        o.semantic_path, n + 1, cols.size()));
        auto it = transcripts.find(cols[0]);
        if (it == transcripts.end())
            throw Error(Errc::invalid_file, fmt::format("{}:{}: '{}' has semantic codes but no transcript in {}",
                                                        o.semantic_path, n + 1, cols[0], o.phoneme_path));
        seen.insert(cols[0]);
        S1Item item;
        item.name = cols[0];
        item.semantic_ids = parse_codes(cols[1], o, n + 1, cols[0]);
        if (item.semantic_ids.empty())
            throw Error(Errc::invalid_file, fmt::format("{}:{}: '{}' has no semantic codes", o.semantic_path, n + 1, cols[0]));
        item.phoneme_ids = it->second.ids;
        // Upstream's filters, in its order.
        if (double(item.semantic_ids.size()) > max_codes) {
            ++ds.dropped_too_long;
            continue;
        }
        if (double(item.phoneme_ids.size()) > max_phones) {
            ++ds.dropped_ps_ratio;
            continue;
        }
        const double ps = double(item.phoneme_ids.size()) / (double(item.semantic_ids.size()) / double(o.hz));
        if (ps > o.max_ps_ratio || ps < o.min_ps_ratio) {
            ++ds.dropped_ps_ratio;
            continue;
        }
        const fs::path bert = fs::path(bert_dir) / (item.name + ".pt");
        if (fs::is_regular_file(bert)) item.bert_path = bert.string();
        kept.push_back(std::move(item));
    }
    const std::set<std::string> unprepared = names_skipped_by_prepare(o.phoneme_path);
    for (const auto& [name, t] : transcripts) {
        if (seen.count(name)) continue;
        if (unprepared.count(name)) {
            ++ds.dropped_unprepared;
            continue;
        }
        throw Error(Errc::invalid_file, fmt::format("{}: no semantic codes for '{}' ({}:{}); rerun the semantic stage of `troupe tts prepare`",
                                                        o.semantic_path, name, o.phoneme_path, t.line));
    }
    if (kept.empty())
        throw Error(Errc::invalid_file,
                    fmt::format("{}: every utterance was filtered out ({} longer than {} s, {} with phones per second outside [{}, {}])",
                                o.semantic_path, ds.dropped_too_long, o.max_sec, ds.dropped_ps_ratio, o.min_ps_ratio, o.max_ps_ratio));
    ds.unique_items = kept.size();
    if (int64_t(kept.size()) < o.min_items) {
        const int64_t times = std::max<int64_t>(2, o.min_items / int64_t(kept.size()));
        for (int64_t r = 0; r < times; ++r) ds.items.insert(ds.items.end(), kept.begin(), kept.end());
    } else {
        ds.items = std::move(kept);
    }
    return ds;
}

at::Tensor load_bert_feature(const std::string& path, size_t phones) {
    const auto ck = pt::Checkpoint::open(path);
    if (!ck.root().is_tensor()) throw Error(Errc::invalid_file, fmt::format("{}: not a tensor (expected BERT features (1024, N))", path));
    at::Tensor t = ck.root().as_tensor().to(at::kFloat);
    if (t.dim() != 2 || t.size(1) != int64_t(phones))
        throw Error(Errc::invalid_file, fmt::format("{}: BERT features have shape {}, expected (dim, {} phones)", path,
                                                    fmt::join(t.sizes().vec(), "x"), phones));
    return t;
}

}  // namespace troupe::sovits::train
