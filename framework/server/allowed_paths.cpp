// Path restrictions: files a request names must lie under the allowed directories; files the server
// serves must lie under their folder.
#include "app.hpp"
#include "json_shapes.hpp"

#include <boost/filesystem.hpp>

namespace troupe::server {
namespace fs = boost::filesystem;

namespace {
/// True when canonical `path` is `dir` or below it (component-wise, so /a/bc is not under /a/b).
bool is_under(const fs::path& path, const fs::path& dir) {
    auto p = path.begin();
    for (auto d = dir.begin(); d != dir.end(); ++d, ++p)
        if (p == path.end() || *p != *d) return false;
    return true;
}
}  // namespace

std::string allowed_path(const App& app, const std::string& path, const std::string& param) {
    if (path.empty()) throw HttpError(400, param, param + " is empty");
    boost::system::error_code ec;
    const fs::path canonical = fs::weakly_canonical(fs::absolute(path), ec);
    bool allowed = false;
    for (const auto& dir : app.allowed_dirs) allowed |= !ec && is_under(canonical, dir);
    if (!allowed)
        throw HttpError(403, param, param + " '" + path + "' is outside the server's allowed directories");
    if (!fs::is_regular_file(canonical, ec)) throw HttpError(400, param, param + " '" + path + "' is not a file");
    return canonical.string();
}

std::string file_under(const std::string& root, const std::string& relative) {
    if (relative.empty() || relative.front() == '/' || relative.find("..") != std::string::npos ||
        relative.find('\0') != std::string::npos)
        throw HttpError(404, "path", "no such file: " + relative);
    boost::system::error_code ec;
    const fs::path dir = fs::canonical(root, ec);
    if (ec) throw HttpError(404, "path", "no such file: " + relative);
    const fs::path file = fs::canonical(dir / relative, ec);
    if (ec || !is_under(file, dir) || !fs::is_regular_file(file)) throw HttpError(404, "path", "no such file: " + relative);
    return file.string();
}

}  // namespace troupe::server
