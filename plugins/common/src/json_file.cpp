#include <troupe/json_file.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>

#include <fstream>

namespace troupe {

nlohmann::json read_json_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, fmt::format("{}: cannot open", path));
    try {
        return nlohmann::json::parse(in);
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: not valid JSON: {}", path, e.what()));
    }
}

}  // namespace troupe
