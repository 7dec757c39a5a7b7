// The troupe CLI's subcommand table. Each subcommand is one function in its own file; areas that
// need LibTorch (lm, tts, train, ...) live in libraries next to their code and are linked into the CLI.
#pragma once

#include <troupe/host.hpp>

#include <boost/program_options.hpp>

#include <functional>
#include <string>
#include <vector>

namespace troupe::cli {

/// Options every subcommand accepts (parsed before the subcommand's own).
struct GlobalOptions {
    HostOptions host;
    bool json = false;     // machine-readable output on stdout
    bool quiet = false;
};

/// Exit codes (docs/cli.md): 0 ok, 1 the job ran but failed (e.g. a failed check), 2 usage,
/// 3 invalid input file, 4 not found, 5 unsupported, 6 plugin/backend failure, 130 interrupted.
int exit_code(Errc code) noexcept;

/// `args` are the subcommand's own arguments (after the subcommand name).
using CommandFn = int (*)(const std::vector<std::string>& args, const GlobalOptions& global);

struct Command {
    const char* name;
    const char* summary;
    CommandFn run;
};

/// Runs `body`, printing an Error as "troupe <cmd>: error: <message>" and mapping it to an exit code.
int run_guarded(const char* command, const std::function<int()>& body);

/// Parses a subcommand's options. Returns false after printing `usage` and the options for --help;
/// throws Error(invalid_argument) for unknown or malformed options.
bool parse_options(const std::string& usage, boost::program_options::options_description& options,
                   const std::vector<std::string>& args, boost::program_options::variables_map& vm,
                   const boost::program_options::positional_options_description* positional = nullptr);

/// Prints `json` (a serialised JSON document) on stdout followed by a newline.
void print_json(const std::string& json);

/// True when stderr is a terminal (progress bars are drawn only then).
bool stderr_is_tty();

/// A simple progress bar on stderr (no-op when not a TTY or when quiet).
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

}  // namespace troupe::cli
