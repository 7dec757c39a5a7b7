#include <troupe/toml_reader.hpp>

#include <fmt/format.h>

#include <fstream>
#include <sys/stat.h>
#include <sstream>

namespace troupe::detail {

namespace {
constexpr off_t kMaxTomlBytes = 4 << 20;  // 4 MiB: far above any real manifest, scene or suite
}  // namespace

std::string where(const std::string& file, const toml::node& node) {
    const auto& src = node.source();
    if (src.begin.line == 0) return file;
    return fmt::format("{}:{}:{}", file, src.begin.line, src.begin.column);
}

toml::table parse_toml_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw Error(Errc::not_found, path + ": no such file");
    if (S_ISDIR(st.st_mode)) throw Error(Errc::invalid_argument, path + ": is a folder, not a TOML file");
    if (!S_ISREG(st.st_mode)) throw Error(Errc::invalid_argument, path + ": is not a regular file");
    if (st.st_size > kMaxTomlBytes)
        throw Error(Errc::invalid_file,
                    fmt::format("{}: {} bytes; a manifest, scene or suite is at most {} bytes", path, st.st_size, kMaxTomlBytes));
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, path + ": cannot open");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_toml_text(buffer.str(), path);
}

toml::table parse_toml_text(std::string_view text, const std::string& name) {
    if (text.size() > size_t(kMaxTomlBytes))
        throw Error(Errc::invalid_file,
                    fmt::format("{}: {} bytes; a manifest, scene or suite is at most {} bytes", name, text.size(), kMaxTomlBytes));
    try {
        return toml::parse(text, name);
    } catch (const toml::parse_error& e) {
        const auto& src = e.source();
        throw Error(Errc::invalid_file,
                    fmt::format("{}:{}:{}: {}", name, src.begin.line, src.begin.column, e.description()));
    }
}

TableReader::TableReader(const std::string& file, const toml::table& table, std::string prefix)
    : file_(file), table_(table), prefix_(std::move(prefix)) {}

void TableReader::fail(const toml::node& node, const std::string& message) const {
    throw Error(Errc::invalid_file, fmt::format("{}: {}", where(file_, node), message));
}

void TableReader::fail_key(const std::string& key, const std::string& message) const {
    const toml::node* node = table_.get(key);
    std::string full = prefix_.empty() ? key : prefix_ + "." + key;
    if (node) fail(*node, "'" + full + "' " + message);
    throw Error(Errc::invalid_file, fmt::format("{}: {}: '{}' {}", where(file_, table_), prefix_.empty() ? "top level" : "[" + prefix_ + "]", full, message));
}

bool TableReader::has(const std::string& key) const { return table_.contains(key); }

const toml::node* TableReader::get(const std::string& key) {
    read_.insert(key);
    return table_.get(key);
}

std::string TableReader::string(const std::string& key, bool required, const std::string& fallback) {
    const toml::node* node = get(key);
    if (!node) {
        if (required) fail_key(key, "is required");
        return fallback;
    }
    if (!node->is_string()) fail_key(key, fmt::format("must be a string, not a {}", toml::impl::node_type_friendly_names[size_t(node->type())]));
    return std::string(*node->as_string());
}

int64_t TableReader::integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) {
    const toml::node* node = get(key);
    if (!node) return fallback;
    if (!node->is_integer()) fail_key(key, "must be an integer");
    int64_t v = node->as_integer()->get();
    if (v < min || v > max) fail_key(key, fmt::format("must be between {} and {} (got {})", min, max, v));
    return v;
}

double TableReader::number(const std::string& key, double fallback, double min, double max) {
    const toml::node* node = get(key);
    if (!node) return fallback;
    double v;
    if (node->is_integer()) v = double(node->as_integer()->get());
    else if (node->is_floating_point()) v = node->as_floating_point()->get();
    else fail_key(key, "must be a number");
    if (!(v >= min && v <= max)) fail_key(key, fmt::format("must be between {} and {} (got {})", min, max, v));
    return v;
}

bool TableReader::boolean(const std::string& key, bool fallback) {
    const toml::node* node = get(key);
    if (!node) return fallback;
    if (!node->is_boolean()) fail_key(key, "must be true or false");
    return node->as_boolean()->get();
}

std::vector<std::string> TableReader::strings(const std::string& key) {
    std::vector<std::string> out;
    const toml::node* node = get(key);
    if (!node) return out;
    if (!node->is_array()) fail_key(key, "must be an array of strings");
    for (const toml::node& item : *node->as_array()) {
        if (!item.is_string()) fail(item, "'" + key + "' must contain only strings");
        out.emplace_back(*item.as_string());
    }
    return out;
}

const toml::table* TableReader::table(const std::string& key) {
    const toml::node* node = get(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail_key(key, "must be a table");
    return node->as_table();
}

std::vector<const toml::table*> TableReader::tables(const std::string& key) {
    std::vector<const toml::table*> out;
    const toml::node* node = get(key);
    if (!node) return out;
    if (!node->is_array_of_tables()) fail_key(key, "must be an array of tables ([[" + key + "]])");
    for (const toml::node& item : *node->as_array()) out.push_back(item.as_table());
    return out;
}

namespace {
void flatten(const TableReader& reader, const toml::table& table, const std::string& prefix, Params& out) {
    for (auto&& [k, v] : table) {
        std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
        if (v.is_table()) flatten(reader, *v.as_table(), key, out);
        else if (v.is_string()) out[key] = std::string(*v.as_string());
        else if (v.is_integer()) out[key] = std::to_string(v.as_integer()->get());
        else if (v.is_floating_point()) out[key] = fmt::format("{}", v.as_floating_point()->get());
        else if (v.is_boolean()) out[key] = v.as_boolean()->get() ? "true" : "false";
        else reader.fail(v, "'" + key + "' must be a string, number or boolean");
    }
}
}  // namespace

Params TableReader::flat(const std::string& key) {
    Params out;
    if (const toml::table* t = table(key)) flatten(*this, *t, {}, out);
    return out;
}

void TableReader::reject_unknown() const {
    for (auto&& [k, v] : table_) {
        std::string key(k.str());
        if (!read_.count(key)) {
            std::string full = prefix_.empty() ? key : prefix_ + "." + key;
            const auto& src = k.source();
            std::string at = src.begin.line ? fmt::format("{}:{}:{}", file_, src.begin.line, src.begin.column)
                                            : where(file_, v);
            throw Error(Errc::invalid_file, fmt::format("{}: unknown key '{}'", at, full));
        }
    }
}

}  // namespace troupe::detail
