// Whole-file reading and writing (troupe/kit/file.hpp).
#include <troupe/kit/file.hpp>
#include <troupe/status.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace troupe::kit {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(Errc::not_found, path + ": cannot open file");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(Errc::invalid_file, path + ": read failed");
    return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << bytes;
        out.flush();
        if (!out) throw Error(Errc::runtime, tmp + ": write failed");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) throw Error(Errc::runtime, path + ": cannot rename " + tmp + " to it");
}

}  // namespace troupe::kit
