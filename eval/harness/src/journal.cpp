#include <troupe/eval/journal.hpp>

#include <troupe/files.hpp>
#include <troupe/status.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;

namespace troupe::eval {

namespace {

/// A string member, or "" when absent or not a string: a corrupt line must not throw a JSON type error.
std::string string_field(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Journal::Journal(const std::string& path, const std::string& config_hash, const nlohmann::json& header_extra)
    : path_(path), hash_(config_hash) {
    if (!fs::path(path).parent_path().empty()) fs::create_directories(fs::path(path).parent_path());
    bool have_header = false;
    if (fs::exists(path)) {
        std::ifstream in(path, std::ios::binary);
        std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        size_t pos = 0, lineno = 0, good_bytes = 0;
        while (pos < content.size()) {
            size_t nl = content.find('\n', pos);
            if (nl == std::string::npos) break;  // no newline: a torn last write, truncated below
            std::string line = content.substr(pos, nl - pos);
            ++lineno;
            pos = nl + 1;
            good_bytes = pos;
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(line);
            } catch (const std::exception&) {
                j = nullptr;
            }
            // A corrupt line (torn by a crash of an earlier writer, or edited by hand) is dropped on
            // its own: the finished cases after it stay.
            if (!j.is_object()) {
                dropped_lines_.push_back(lineno);
                continue;
            }
            if (!j.is_object()) break;  // not a journal line: corrupt, as above
            const std::string type = string_field(j, "type");
            if (type == "header") {
                if (string_field(j, "config_hash") != config_hash)
                    throw Error(Errc::invalid_argument,
                                path + ": this journal belongs to a different suite configuration (hash " +
                                    string_field(j, "config_hash").substr(0, 12) + " ≠ " + config_hash.substr(0, 12) +
                                    "); use another --out directory or --fresh");
                header_ = j;
                have_header = true;
            } else if (type == "event") {
                events_.push_back(j);
            } else if (j.contains("id") && j["id"].is_string()) {
                std::string id = j["id"];
                if (!rows_.count(id)) order_.push_back(id);
                rows_[id] = j;
            } else {
                dropped_lines_.push_back(lineno);
            }
        }
        truncated_ = content.size() - good_bytes;
        if (!have_header && !rows_.empty())
            throw Error(Errc::invalid_file, path + ": the journal's header line is unreadable, so its " +
                                                std::to_string(rows_.size()) +
                                                " rows cannot be matched to this suite; use --fresh or another --out");
        if (truncated_) fs::resize_file(path, good_bytes);
    }
    file_ = std::fopen(path.c_str(), "ab");
    if (!file_) throw Error(Errc::invalid_argument, "cannot open journal for appending: " + path);
    if (!have_header) {
        header_ = header_extra.is_object() ? header_extra : nlohmann::json::object();
        header_["type"] = "header";
        header_["config_hash"] = config_hash;
        if (!events_.empty()) rewrite();  // a header lost to corruption: start the file with a new one
        else write_line(header_);
    } else if (!dropped_lines_.empty()) {
        rewrite();  // drop the corrupt lines from the file too (atomically)
    }
}

Journal::~Journal() {
    if (file_) std::fclose(file_);
}

const nlohmann::json* Journal::row(const std::string& id) const {
    auto it = rows_.find(id);
    return it == rows_.end() ? nullptr : &it->second;
}

void Journal::write_line(const nlohmann::json& j) {
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
        throw Error(Errc::runtime, "cannot write journal " + path_);
    ::fsync(fileno(file_));
}

void Journal::append(const nlohmann::json& row) {
    std::string id = row.at("id").get<std::string>();
    if (rows_.count(id)) throw Error(Errc::invalid_argument, "journal: duplicate case id " + id);
    write_line(row);
    order_.push_back(id);
    rows_[id] = row;
}

void Journal::append_event(const nlohmann::json& event) {
    nlohmann::json e = event;
    e["type"] = "event";
    write_line(e);
    events_.push_back(e);
}

std::vector<nlohmann::json> Journal::rows() const {
    std::vector<nlohmann::json> out;
    for (const auto& id : order_) out.push_back(rows_.at(id));
    return out;
}

void Journal::rewrite() {
    std::string content = header_.dump() + "\n";
    for (const auto& e : events_) content += e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    for (const auto& id : order_) content += rows_.at(id).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fclose(file_);
    file_ = nullptr;
    write_file_atomic(path_, content);
    file_ = std::fopen(path_.c_str(), "ab");
    if (!file_) throw Error(Errc::runtime, "cannot reopen journal " + path_);
}

}  // namespace troupe::eval
