// troupe eval --suite SUITE.toml [--out DIR]: runs an eval suite and writes report.md, results.json
// and report.html; troupe eval compare A B: deltas per metric between two runs.
#include "command.hpp"

#include <troupe/files.hpp>

#include <troupe/eval/report.hpp>
#include <troupe/eval/results.hpp>
#include <troupe/eval/runner.hpp>
#include <troupe/eval/suite.hpp>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using nlohmann::json;

namespace troupe::cli {
namespace po = boost::program_options;

namespace {

void write_file(const fs::path& path, const std::string& content) { write_file_atomic(path.string(), content); }

/// Checks the parts of a results.json that `compare` reads, naming the file and the first wrong field.
void check_results_shape(const json& j, const std::string& path) {
    auto bad = [&](const std::string& what) {
        throw Error(Errc::invalid_file, path + ": not a troupe eval results.json: " + what);
    };
    if (!j.is_object()) bad("the top level is not an object");
    if (!j.contains("report_rows") || !j["report_rows"].is_array()) bad("'report_rows' is missing or not an array");
    if (j.contains("suite") && !j["suite"].is_object()) bad("'suite' is not an object");
    if (j.contains("suite") && j["suite"].contains("name") && !j["suite"]["name"].is_string()) bad("'suite.name' is not a string");
    for (const char* key : {"git_revision", "config_hash"})
        if (j.contains(key) && !j[key].is_string()) bad(std::string("'") + key + "' is not a string");
    size_t i = 0;
    for (const auto& r : j["report_rows"]) {
        const std::string at = "report_rows[" + std::to_string(i++) + "]";
        if (!r.is_object()) bad(at + " is not an object");
        for (const char* key : {"scope", "item", "metric", "value", "verdict"})
            if (r.contains(key) && !r[key].is_string()) bad(at + "." + key + " is not a string");
        if (r.contains("value_num") && !r["value_num"].is_number() && !r["value_num"].is_null())
            bad(at + ".value_num is not a number");
    }
}

json load_results(const std::string& where) {
    fs::path p = where;
    if (fs::is_directory(p)) p /= "results.json";
    std::ifstream in(p);
    if (!in) throw Error(Errc::not_found, "no results at " + p.string() + " (give a run folder or its results.json)");
    json j;
    try {
        j = json::parse(in);
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, p.string() + ": not valid JSON: " + e.what());
    }
    check_results_shape(j, p.string());
    if (!j.contains("suite")) j["suite"] = json::object();
    return j;
}

int cmd_compare(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe eval compare options");
    std::string a, b, out;
    options.add_options()("a", po::value(&a)->required(), "first run (folder or results.json)")(
        "b", po::value(&b)->required(), "second run")("out,o", po::value(&out), "also write the comparison (Markdown) here");
    po::positional_options_description positional;
    positional.add("a", 1).add("b", 1);
    po::variables_map vm;
    if (!parse_options("troupe eval compare A B [-o compare.md] [--json]", options, args, vm, &positional)) return 0;
    json ja = load_results(a), jb = load_results(b), as_json;
    std::string md = eval::compare_results(ja, jb, a, b, &as_json);
    if (!out.empty()) write_file(out, md);
    if (global.json) print_json(as_json.dump(2));
    else fmt::print("{}", md);
    return 0;
}

}  // namespace

int cmd_eval(const std::vector<std::string>& args, const GlobalOptions& global) {
    if (!args.empty() && args[0] == "compare") return cmd_compare(std::vector<std::string>(args.begin() + 1, args.end()), global);
    po::options_description options("troupe eval options");
    std::string suite_path, out;
    size_t limit = 0;
    int64_t batch_size = 0;
    options.add_options()("suite", po::value(&suite_path)->required(), "suite file (eval/suites/*.toml)")(
        "out,o", po::value(&out), "run folder (default: out/eval/<suite name>)")(
        "fresh", "discard the folder's journal and start over")("retry-failed", "rerun cases journaled as failed or skipped")(
        "limit", po::value(&limit), "run at most N new cases, then report (resume later)")(
        "batch-size", po::value(&batch_size), "text cases per batch, 1-64 (default: the suite's text.batch_size, 8)")(
        "report-only", "do not run cases; rebuild the reports from the journal");
    po::variables_map vm;
    if (!parse_options("troupe eval --suite SUITE.toml [--out DIR] [--fresh] [--retry-failed] [--limit N] [--batch-size N]\n"
                       "       troupe eval compare A B",
                       options, args, vm))
        return 0;
    if (vm.count("batch-size") && (batch_size < 1 || batch_size > eval::kMaxBatchSize))
        throw Error(Errc::invalid_argument,
                    "--batch-size must be between 1 and " + std::to_string(eval::kMaxBatchSize) + " (got " +
                        std::to_string(batch_size) + ")");
    eval::Suite suite = eval::load_suite(suite_path);
    if (out.empty()) out = (fs::path("out") / "eval" / suite.name).string();  // the name is one safe component
    if (fs::exists(out) && !fs::is_directory(out))
        throw Error(Errc::invalid_argument, out + ": --out must be a folder, and this is a file");
    Host host(global.host);
    for (const auto& issue : host.character_issues()) host.log(LogLevel::warn, "character " + issue.path + ": " + issue.message);

    eval::RunSummary summary;
    if (!vm.count("report-only")) {
        eval::RunOptions ro;
        ro.out_dir = out;
        ro.fresh = vm.count("fresh") > 0;
        ro.retry_failed = vm.count("retry-failed") > 0;
        ro.limit = limit;
        ro.batch_size = int(batch_size);
        std::unique_ptr<Progress> progress;
        size_t last_done = 0;
        ro.progress = [&](size_t done, size_t total, const std::string&) {
            if (!progress) progress = std::make_unique<Progress>("eval " + suite.name, total, !global.quiet);
            if (done > last_done) {
                progress->step(done - last_done);
                last_done = done;
            }
        };
        summary = eval::run_suite(suite, host, ro);
        if (progress) progress->done();
        for (const auto& n : summary.notes) host.log(LogLevel::warn, n);
    }
    json results = eval::build_results(suite, host, out);
    results["last_run_summary"] = {{"total", summary.total}, {"already_done", summary.already_done}, {"ran", summary.ran},
                                   {"failed", summary.failed}, {"interrupted", summary.interrupted}, {"notes", summary.notes}};
    fs::create_directories(out);
    write_file(fs::path(out) / "results.json", results.dump(1, ' ', false, json::error_handler_t::replace));
    write_file(fs::path(out) / "report.md", eval::render_markdown(results));
    write_file(fs::path(out) / "report.html", eval::render_html(results));
    if (global.json) {
        print_json(json{{"out", out}, {"summary", results["last_run_summary"]}, {"rows", results["report_rows"]}}.dump(2));
    } else if (!global.quiet) {
        fmt::print("{}: {} cases ({} already done, {} run now, {} failed){}\n", suite.name, summary.total, summary.already_done,
                   summary.ran, summary.failed, summary.interrupted ? " — interrupted, rerun to resume" : "");
        fmt::print("wrote {}/report.md, results.json, report.html\n", out);
    }
    return summary.interrupted ? 130 : 0;
}

}  // namespace troupe::cli
