#include <troupe/paths.hpp>

#include <boost/filesystem.hpp>

#include <cctype>

namespace fs = boost::filesystem;

namespace troupe {
namespace {

bool lexically_inside(const fs::path& path, const fs::path& dir) {
    auto p = path.begin();
    for (auto d = dir.begin(); d != dir.end(); ++d, ++p) {
        if (d->string().empty() || d->string() == ".") continue;  // a trailing separator
        if (p == path.end() || *p != *d) return false;
    }
    return true;
}

}  // namespace

std::string resolve_path(const std::string& value, const std::string& base) {
    if (value.empty()) return {};
    fs::path p(value);
    if (!p.is_absolute()) p = fs::absolute(p, fs::absolute(base));
    boost::system::error_code ec;
    fs::path resolved = fs::weakly_canonical(p, ec);
    if (ec) resolved = p;
    return resolved.lexically_normal().string();
}

bool path_within(const std::string& path, const std::string& dir) {
    if (path.empty() || dir.empty()) return false;
    return lexically_inside(fs::path(resolve_path(path, "/")), fs::path(resolve_path(dir, "/")));
}

std::optional<std::string> confine_path(const std::string& value, const std::string& base,
                                        const std::vector<std::string>& allowed) {
    const std::string resolved = resolve_path(value, base);
    if (path_within(resolved, base)) return resolved;
    for (const auto& dir : allowed)
        if (path_within(resolved, dir)) return resolved;
    return std::nullopt;
}

bool is_path_key(const std::string& key) {
    for (const char* suffix : {"dir", "path", "file", "audio"}) {
        const std::string s(suffix);
        if (key.size() >= s.size() && key.compare(key.size() - s.size(), s.size(), s) == 0) return true;
    }
    return false;
}

bool is_safe_file_name(const std::string& name) {
    if (name.empty() || name.size() > 100 || name[0] == '.') return false;
    for (char c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}

}  // namespace troupe
