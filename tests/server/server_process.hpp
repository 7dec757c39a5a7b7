// Test-only: a `troupe serve` child process on an ephemeral loopback port, and small HTTP helpers
// (cpp-httplib's client) for the server tests.
#pragma once

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <boost/filesystem.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace troupe::test {

namespace fs = boost::filesystem;

class ServerProcess {
public:
    /// Starts `troupe serve --port 0` with `args`; waits until it listens (models loaded).
    explicit ServerProcess(const std::vector<std::string>& args, const fs::path& dir) : dir_(dir) {
        fs::create_directories(dir);
        const fs::path port_file = dir / "port";
        fs::remove(port_file);
        std::vector<std::string> argv = {TROUPE_CLI, "-q", "serve", "--host", "127.0.0.1", "--port", "0",
                                         "--port-file", port_file.string()};
        argv.insert(argv.end(), args.begin(), args.end());
        std::fflush(stdout);
        std::fflush(stderr);
        pid_ = fork();
        if (pid_ == 0) {
            const std::string log = (dir / "server.log").string();
            freopen(log.c_str(), "a", stderr);
            freopen("/dev/null", "w", stdout);
            std::vector<char*> cargv;
            for (auto& a : argv) cargv.push_back(a.data());
            cargv.push_back(nullptr);
            execv(cargv[0], cargv.data());
            _exit(127);
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (!fs::exists(port_file)) {
            int status = 0;
            if (waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                BOOST_FAIL("troupe serve exited before listening: " + log());
            }
            if (std::chrono::steady_clock::now() > deadline) BOOST_FAIL("troupe serve did not start: " + log());
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::ifstream(port_file.string()) >> port_;
    }
    ~ServerProcess() {
        if (pid_ > 0) stop();
    }
    int port() const { return port_; }
    httplib::Client client(std::chrono::seconds timeout = std::chrono::seconds(300)) const {
        httplib::Client c("127.0.0.1", port_);
        c.set_read_timeout(timeout);
        c.set_write_timeout(std::chrono::seconds(30));
        return c;
    }
    std::string log() const {
        std::ifstream in((dir_ / "server.log").string());
        return std::string((std::istreambuf_iterator<char>(in)), {});
    }
    /// SIGTERM, then the exit code (-1 when it had to be killed after `grace`).
    int stop(std::chrono::seconds grace = std::chrono::seconds(30)) {
        if (pid_ <= 0) return -1;
        kill(pid_, SIGTERM);
        const auto deadline = std::chrono::steady_clock::now() + grace;
        int status = 0;
        while (waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                kill(pid_, SIGKILL);
                waitpid(pid_, &status, 0);
                pid_ = -1;
                return -1;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

private:
    fs::path dir_;
    pid_t pid_ = -1;
    int port_ = 0;
};

inline nlohmann::json body_json(const httplib::Result& r) {
    BOOST_REQUIRE_MESSAGE(r, "no response: " << httplib::to_string(r.error()));
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    BOOST_REQUIRE_MESSAGE(!j.is_discarded(), "not JSON: " << r->body.substr(0, 300));
    return j;
}

inline httplib::Result post_json(httplib::Client& c, const std::string& path, const nlohmann::json& body,
                                 const httplib::Headers& headers = {}) {
    return c.Post(path.c_str(), headers, body.dump(), "application/json");
}

/// Server-sent events of a body: (event name, data) pairs ("message" when unnamed).
inline std::vector<std::pair<std::string, std::string>> sse_events(const std::string& body) {
    std::vector<std::pair<std::string, std::string>> out;
    size_t start = 0;
    while (start < body.size()) {
        size_t end = body.find("\n\n", start);
        if (end == std::string::npos) end = body.size();
        std::string block = body.substr(start, end - start), name = "message", data;
        size_t pos = 0;
        while (pos < block.size()) {
            size_t nl = block.find('\n', pos);
            if (nl == std::string::npos) nl = block.size();
            const std::string line = block.substr(pos, nl - pos);
            if (line.rfind("event: ", 0) == 0) name = line.substr(7);
            if (line.rfind("data: ", 0) == 0) data += line.substr(6);
            pos = nl + 1;
        }
        if (!data.empty()) out.emplace_back(name, data);
        start = end + 2;
    }
    return out;
}

/// An OpenAI-shaped error naming `param` (when given).
inline void check_openai_error(const httplib::Result& r, int status, const std::string& param) {
    BOOST_REQUIRE(r);
    BOOST_TEST(r->status == status, r->body);
    nlohmann::json j = body_json(r);
    BOOST_REQUIRE_MESSAGE(j.contains("error") && j["error"].is_object(), r->body);
    BOOST_TEST(j["error"]["message"].is_string());
    BOOST_TEST(j["error"]["type"].is_string());
    BOOST_TEST(j["error"].contains("code"));
    if (!param.empty()) BOOST_TEST(j["error"]["param"] == param, r->body);
}

inline fs::path test_dir(const std::string& name) {
    fs::path dir = fs::temp_directory_path() / ("troupe-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

}  // namespace troupe::test
