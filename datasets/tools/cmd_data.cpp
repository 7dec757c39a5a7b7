// `troupe data check FILE…` — validates persona SFT JSONL files (see troupe/data/check.hpp).
#include "command.hpp"

#include <troupe/data/check.hpp>

#include <boost/program_options.hpp>

#include <filesystem>
#include <iostream>

namespace troupe::cli {
namespace {

namespace po = boost::program_options;

int data_check(const std::vector<std::string>& args, const GlobalOptions& global) {
    data::CheckOptions options;
    std::vector<std::string> files;
    bool json = false, no_leaks = false, help = false;  // --json may also come as a global option
    po::options_description desc(
        "Usage: troupe data check [options] FILE...\n"
        "Checks persona JSONL files (instruction/input/output[/character/situation_id]) for schema\n"
        "errors, empty or overlong fields, duplicates, inputs not of the form \"상황: … [지문: …]\",\n"
        "and situations that appear in more than one file. Exit status 1 on any problem.\n\nOptions");
    desc.add_options()
        ("help,h", po::bool_switch(&help), "show this help")
        ("json", po::bool_switch(&json), "print a JSON summary on stdout")
        ("max-instruction", po::value(&options.max_instruction)->default_value(options.max_instruction),
         "longest instruction, in characters (0: no limit)")
        ("max-input", po::value(&options.max_input)->default_value(options.max_input),
         "longest input, in characters (0: no limit)")
        ("max-output", po::value(&options.max_output)->default_value(options.max_output),
         "longest output, in characters (0: no limit)")
        ("no-leaks", po::bool_switch(&no_leaks), "do not look for situations shared between files");
    po::options_description hidden;
    hidden.add_options()("file", po::value(&files));
    po::options_description all;
    all.add(desc).add(hidden);
    po::positional_options_description positional;
    positional.add("file", -1);
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "troupe data check: " << e.what() << "\n" << desc << "\n";
        return 2;
    }
    if (help) {
        std::cout << desc << "\n";
        return 0;
    }
    if (files.empty()) {
        std::cerr << "troupe data check: no files given\n" << desc << "\n";
        return 2;
    }
    options.check_leaks = !no_leaks;
    json = json || global.json;
    // A file that is not there is "not found" (4), a folder a usage error (2), as for every command.
    for (const auto& f : files) {
        std::error_code ec;
        if (std::filesystem::is_directory(f, ec))
            throw Error(Errc::invalid_argument, f + ": is a folder; give the JSONL files in it");
        if (!std::filesystem::exists(f, ec)) throw Error(Errc::not_found, f + ": no such file");
    }

    const data::CheckReport report = data::check_files(files, options);
    if (json) {
        std::cout << data::to_json(report) << "\n";
    } else {
        for (const auto& p : report.problems)
            std::cout << p.where() << ": " << p.kind << ": " << p.message << "\n";
        if (!global.quiet) {
            for (const auto& f : report.files) {
                std::cerr << f.file << ": " << f.examples << " examples, " << f.situations << " situations";
                const char* sep = " (";
                for (const auto& [name, n] : f.characters) {
                    std::cerr << sep << (name.empty() ? "(none)" : name) << " " << n;
                    sep = ", ";
                }
                std::cerr << (f.characters.empty() ? "" : ")") << "\n";
            }
            if (report.ok()) {
                std::cerr << "ok\n";
            } else {
                std::cerr << report.problems.size() << " problem(s):";
                for (const auto& [k, n] : report.counts_by_kind()) std::cerr << " " << k << " " << n;
                std::cerr << "\n";
            }
        }
    }
    return report.ok() ? 0 : 1;
}

}  // namespace

/// `troupe data <action> ...`; the only action is `check`. (main() already runs it guarded.)
int cmd_data(const std::vector<std::string>& args, const GlobalOptions& global) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        std::cout << "usage: troupe data check [options] FILE...   (troupe data check --help)\n";
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "check") return data_check({args.begin() + 1, args.end()}, global);
    std::cerr << "troupe data: error: unknown action '" << args[0] << "' (expected: check)\n";
    return 2;
}

}  // namespace troupe::cli
