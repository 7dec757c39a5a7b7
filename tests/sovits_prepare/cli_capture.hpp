// Runs `troupe tts prepare ARGS` in-process through the host and the loaded gpt-sovits plugin, with
// stdout captured: (exit code, stdout).
#pragma once

#include "../common/plugin_command.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace troupe::test {

inline std::pair<int, std::string> run_prepare(std::vector<std::string> args, bool json = true) {
    args.insert(args.begin(), {"tts", "prepare"});
    return run_command(args, json, /*quiet=*/true);
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::vector<std::string> lines_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

inline std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        const size_t p = s.find(sep, start);
        out.push_back(s.substr(start, p == std::string::npos ? std::string::npos : p - start));
        if (p == std::string::npos) return out;
        start = p + 1;
    }
}

}  // namespace troupe::test
