// troupe/eval/journal.hpp — the per-case JSONL journal of a run. Each finished case is appended as
// one line and flushed to disk (fsync) before the next starts; reopening a journal drops a torn last
// line (a run killed mid-write) and any corrupt line in the middle on its own, keeping every
// complete row around it, and reports the completed ids, so a rerun resumes without loss or
// duplicates.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace troupe::eval {

class Journal {
public:
    /// Opens (creating) `path`. The first line is a header {"type":"header","config_hash":…}; a
    /// journal whose hash differs from `config_hash` throws Error(invalid_argument) (use a fresh --out
    /// or --fresh). A torn trailing line is truncated away; corrupt lines elsewhere are dropped one by
    /// one (the file is rewritten atomically without them), and the rows after them are kept.
    Journal(const std::string& path, const std::string& config_hash, const nlohmann::json& header_extra = {});
    ~Journal();
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    bool done(const std::string& id) const { return rows_.count(id) > 0; }
    const nlohmann::json* row(const std::string& id) const;
    /// Appends a case row (must carry a unique "id") and syncs it to disk.
    void append(const nlohmann::json& row);
    /// Drops rows (in memory and on disk, by rewriting atomically) for which `drop` is true.
    template <class F>
    size_t drop_if(F&& drop);
    /// All case rows in journal order.
    std::vector<nlohmann::json> rows() const;
    /// Non-case events (load times, warm-ups), in order.
    const std::vector<nlohmann::json>& events() const { return events_; }
    void append_event(const nlohmann::json& event);
    /// Bytes of a torn last line that were cut off when the journal was opened.
    size_t truncated_bytes() const { return truncated_; }
    /// 1-based numbers of the corrupt lines dropped when the journal was opened.
    const std::vector<size_t>& dropped_lines() const { return dropped_lines_; }
    const std::string& path() const { return path_; }

private:
    void write_line(const nlohmann::json& j);
    void rewrite();
    std::string path_, hash_;
    nlohmann::json header_;
    std::FILE* file_ = nullptr;
    std::vector<std::string> order_;
    std::map<std::string, nlohmann::json> rows_;
    std::vector<nlohmann::json> events_;
    size_t truncated_ = 0;
    std::vector<size_t> dropped_lines_;
};

template <class F>
size_t Journal::drop_if(F&& drop) {
    size_t n = 0;
    for (auto it = order_.begin(); it != order_.end();) {
        if (drop(rows_.at(*it))) {
            rows_.erase(*it);
            it = order_.erase(it);
            ++n;
        } else {
            ++it;
        }
    }
    if (n) rewrite();
    return n;
}

}  // namespace troupe::eval
