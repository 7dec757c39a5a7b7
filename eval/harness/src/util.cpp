#include <troupe/eval/util.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace troupe::eval {

namespace {
std::string run_command(const std::string& command) {
    std::string out;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return out;
    std::array<char, 512> buf{};
    while (fgets(buf.data(), int(buf.size()), pipe)) out += buf.data();
    pclose(pipe);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}
std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}
}  // namespace

std::string git_revision(const std::string& dir) {
    if (dir.empty()) return "unknown";
    std::string rev = run_command("git -C " + shell_quote(dir) + " rev-parse HEAD 2>/dev/null");
    if (rev.size() != 40) return "unknown";
    std::string dirty = run_command("git -C " + shell_quote(dir) + " status --porcelain --untracked-files=no 2>/dev/null | head -1");
    return dirty.empty() ? rev : rev + "-dirty";
}

bool reset_peak_rss() {
    std::ofstream f("/proc/self/clear_refs");
    if (!f) return false;
    f << "5";
    return bool(f);
}

double peak_rss_mib() {
    std::ifstream f("/proc/self/status");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("VmHWM:", 0) == 0) {
            std::istringstream in(line.substr(6));
            double kb = 0;
            in >> kb;
            return kb / 1024.0;
        }
    return 0;
}

double gpu_memory_mib() {
    std::string out = run_command(
        "nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits 2>/dev/null");
    if (out.empty()) return -1;
    std::istringstream in(out);
    std::string line;
    const std::string pid = std::to_string(getpid());
    double total = 0;
    bool found = false;
    while (std::getline(in, line)) {
        auto comma = line.find(',');
        if (comma == std::string::npos) continue;
        std::string p = line.substr(0, comma);
        p.erase(0, p.find_first_not_of(' '));
        if (p == pid) {
            total += std::atof(line.c_str() + comma + 1);
            found = true;
        }
    }
    return found ? total : 0;
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace troupe::eval
