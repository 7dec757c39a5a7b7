// The plugin kit's command-line helpers (troupe/kit/cli.hpp).
#include <troupe/kit/cli.hpp>

#include <fmt/format.h>

#include <cstdint>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <unistd.h>

namespace troupe::kit {

int exit_code(Errc code) noexcept {
    switch (code) {
        case Errc::ok: return 0;
        case Errc::invalid_argument: return 2;
        case Errc::invalid_file: return 3;
        case Errc::not_found: return 4;
        case Errc::unsupported: return 5;
        case Errc::init_failed:
        case Errc::runtime: return 6;
        case Errc::cancelled: return 130;
    }
    return 1;
}

int run_guarded(const char* command, const std::function<int()>& body) noexcept {
    try {
        return body();
    } catch (const Error& e) {
        fmt::print(stderr, "troupe {}: error: {}\n", command, e.what());
        return exit_code(e.code());
    } catch (const std::exception& e) {
        fmt::print(stderr, "troupe {}: error: {}\n", command, e.what());
        return 6;
    } catch (...) {
        fmt::print(stderr, "troupe {}: error: unknown exception\n", command);
        return 6;
    }
}

bool parse_options(const std::string& usage, boost::program_options::options_description& options,
                   const std::vector<std::string>& args, boost::program_options::variables_map& vm,
                   const boost::program_options::positional_options_description* positional) {
    namespace po = boost::program_options;
    options.add_options()("help,h", "show this help");
    try {
        po::command_line_parser parser(args);
        parser.options(options);
        if (positional) parser.positional(*positional);
        po::store(parser.run(), vm);
        if (vm.count("help")) {
            fmt::print("usage: {}\n\n", usage);
            std::ostringstream text;
            text << options;
            fmt::print("{}", text.str());
            return false;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        throw Error(Errc::invalid_argument, std::string(e.what()) + " (usage: " + usage + ")");
    }
    return true;
}

void check_generation_options(const boost::program_options::variables_map& vm, int64_t seed, int max_new_tokens) {
    if (vm.count("seed") && seed < 0)
        throw Error(Errc::invalid_argument, fmt::format("--seed must be between 0 and {} (got {})", INT64_MAX, seed));
    if (vm.count("max-new-tokens") && (max_new_tokens < 1 || max_new_tokens > kMaxNewTokensLimit))
        throw Error(Errc::invalid_argument,
                    fmt::format("--max-new-tokens must be between 1 and {} (got {})", kMaxNewTokensLimit, max_new_tokens));
}

void check_output_file(const std::string& path, const std::string& option) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (path.empty()) throw Error(Errc::invalid_argument, option + " must name a file");
    if (fs::is_directory(path, ec))
        throw Error(Errc::invalid_argument, fmt::format("{} {}: is a folder; give a file name (for example {}/out.wav)",
                                                        option, path, path));
    const fs::path parent = fs::absolute(path).parent_path();
    if (!fs::is_directory(parent, ec))
        throw Error(Errc::not_found, fmt::format("{} {}: the folder {} does not exist", option, path, parent.string()));
}

void print_json(const std::string& json) { fmt::print("{}\n", json); }

bool stderr_is_tty() { return isatty(fileno(stderr)) != 0; }

Progress::Progress(std::string label, size_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && stderr_is_tty()) {
    step(0);
}

void Progress::step(size_t n) {
    current_ += n;
    if (!enabled_ || finished_) return;
    const int width = 30;
    int filled = total_ ? int(width * std::min(current_, total_) / total_) : 0;
    fmt::print(stderr, "\r{} [{}{}] {}/{}", label_, std::string(size_t(filled), '#'),
               std::string(size_t(width - filled), '.'), current_, total_);
    std::fflush(stderr);
}

void Progress::done() {
    if (enabled_ && !finished_) fmt::print(stderr, "\n");
    finished_ = true;
}

Progress::~Progress() { done(); }

}  // namespace troupe::kit
