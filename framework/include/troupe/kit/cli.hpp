// troupe/kit/cli.hpp — plugin kit: the pieces of a command-line tool (option parsing, errors as exit
// codes, JSON on stdout, a progress bar). Used by plugin commands and by the troupe CLI itself.
#pragma once

#include <troupe/status.hpp>

#include <boost/program_options.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace troupe::kit {

/// Exit codes (docs/cli.md): 0 ok, 1 the job ran but failed (e.g. a failed check), 2 usage,
/// 3 invalid input file, 4 not found, 5 unsupported, 6 plugin/backend failure, 130 interrupted.
int exit_code(Errc code) noexcept;

/// Runs `body`, printing an exception as "troupe <command>: error: <message>" on stderr and mapping it
/// to an exit code (troupe::Error by its code, anything else 6). Never throws.
int run_guarded(const char* command, const std::function<int()>& body) noexcept;

/// Parses a command's options. Returns false after printing `usage` and the options for --help;
/// throws Error(invalid_argument) for unknown or malformed options (with the usage line).
bool parse_options(const std::string& usage, boost::program_options::options_description& options,
                   const std::vector<std::string>& args, boost::program_options::variables_map& vm,
                   const boost::program_options::positional_options_description* positional = nullptr);

/// Limits of the generation options (docs/cli.md, "Limits"): --seed 0..2^63-1, --max-new-tokens 1..8192.
constexpr int kMaxNewTokensLimit = 8192;
/// Throws Error(invalid_argument) when --seed or --max-new-tokens, if given (in `vm`), is out of range.
void check_generation_options(const boost::program_options::variables_map& vm, int64_t seed, int max_new_tokens);

/// Throws Error(invalid_argument) when `path` is a folder and Error(not_found) when its folder does not
/// exist, so an output file is checked before any work is done. `option` names the option ("-o").
void check_output_file(const std::string& path, const std::string& option);

/// Prints `json` (a serialised JSON document) on stdout followed by a newline.
void print_json(const std::string& json);

/// True when stderr is a terminal (progress bars are drawn only then).
bool stderr_is_tty();

/// A simple progress bar on stderr (no-op when not a TTY or when disabled, e.g. by --quiet).
class Progress {
public:
    Progress(std::string label, size_t total, bool enabled = true);
    void step(size_t n = 1);
    void done();
    ~Progress();

private:
    std::string label_;
    size_t total_, current_ = 0;
    bool enabled_, finished_ = false;
};

}  // namespace troupe::kit
