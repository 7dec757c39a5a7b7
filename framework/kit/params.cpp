// Plugin parameters (troupe/kit/params.hpp).
#include <troupe/kit/params.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>

namespace troupe::kit {
namespace fs = std::filesystem;

ParamReader::ParamReader(std::string plugin, std::vector<const Params*> layers)
    : plugin_(std::move(plugin)), layers_(std::move(layers)) {}

const std::string* ParamReader::find(const std::string& key) const {
    for (const Params* p : layers_) {
        if (!p) continue;
        if (auto it = p->find(key); it != p->end() && !it->second.empty()) return &it->second;
    }
    return nullptr;
}

void ParamReader::fail(const std::string& key, const std::string& what) const {
    throw Error(Errc::invalid_argument, fmt::format("{}: parameter '{}' {}", plugin_, key, what));
}

std::string ParamReader::string(const std::string& key, const std::string& fallback, bool required) const {
    if (const std::string* v = find(key)) return *v;
    if (required) fail(key, "is required");
    return fallback;
}

double ParamReader::number(const std::string& key, double fallback, double min, double max) const {
    const std::string* v = find(key);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    const double x = std::strtod(v->c_str(), &end);
    if (end == v->c_str() || *end != '\0' || errno == ERANGE) fail(key, fmt::format("= '{}' is not a number", *v));
    if (!(x >= min && x <= max)) fail(key, fmt::format("= {} is outside [{}, {}]", *v, min, max));
    return x;
}

int64_t ParamReader::integer(const std::string& key, int64_t fallback, int64_t min, int64_t max) const {
    const std::string* v = find(key);
    if (!v) return fallback;
    char* end = nullptr;
    errno = 0;
    const long long x = std::strtoll(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0' || errno == ERANGE) fail(key, fmt::format("= '{}' is not an integer", *v));
    if (x < min || x > max) fail(key, fmt::format("= {} is outside [{}, {}]", *v, min, max));
    return x;
}

bool ParamReader::boolean(const std::string& key, bool fallback) const {
    const std::string* v = find(key);
    if (!v) return fallback;
    if (*v == "true" || *v == "1" || *v == "yes" || *v == "on") return true;
    if (*v == "false" || *v == "0" || *v == "no" || *v == "off") return false;
    fail(key, fmt::format("= '{}' is not a boolean (true or false)", *v));
}

std::string ParamReader::path(const std::string& key, bool required) const {
    const std::string value = string(key, {}, required);
    if (value.empty() || fs::path(value).is_absolute()) return value;
    const std::string* base = find("host.data_dir");
    return base ? (fs::path(*base) / value).lexically_normal().string() : value;
}

bool path_inside(const std::string& path, const std::string& dir) {
    const fs::path p = fs::path(path).lexically_normal(), d = fs::path(dir).lexically_normal();
    auto pi = p.begin();
    for (auto di = d.begin(); di != d.end(); ++di, ++pi) {
        if (di->empty()) continue;  // a trailing slash
        if (pi == p.end() || *pi != *di) return false;
    }
    return true;
}

namespace {
/// Absolute, `..` removed and symlinks followed as far as the path exists (docs/paths.md).
std::string resolved(const std::string& path) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(path), ec);
    if (ec) p = fs::absolute(path);
    return p.lexically_normal().string();
}
}  // namespace

std::string confine_path(const std::string& path, const std::vector<std::string>& dirs, const std::string& what) {
    // Compared where they really lead: a symlink inside an allowed folder may not lead out of it.
    const std::string p = resolved(path);
    for (const std::string& d : dirs)
        if (path_inside(p, resolved(d))) return p;
    throw Error(Errc::invalid_argument,
                fmt::format("{} points outside the allowed directories ({}); allow the directory with [characters] "
                            "allow_dirs in troupe.toml",
                            what, path));
}

}  // namespace troupe::kit
