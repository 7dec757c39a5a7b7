// Test-only: runs a function with the process's stdout redirected to a temporary file and returns
// (its exit code, what it printed) — for CLI commands called in-process. Include as
// "../common/capture_stdout.hpp".
#pragma once

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <utility>

namespace troupe::test {

template <class Fn>
std::pair<int, std::string> capture_stdout(Fn&& fn) {
    char path[] = "/tmp/troupe_stdout_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    std::fflush(stdout);
    const int saved = dup(STDOUT_FILENO);
    dup2(fd, STDOUT_FILENO);
    const int rc = fn();
    std::fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    close(fd);
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::remove(path);
    return {rc, ss.str()};
}

}  // namespace troupe::test
