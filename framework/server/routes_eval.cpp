// Eval reports (read-only): GET /v1/eval/reports lists the runs under the server's eval folders (any
// folder holding results.json), GET /v1/eval/reports/{id} its results, …/files/{path} its files
// (report.html with its plots, report.md, results.json), and GET /v1/eval/compare?a=ID&b=ID the
// comparison of two runs (as `troupe eval compare`).
#include "app.hpp"
#include "json_shapes.hpp"

#include <troupe/eval/report.hpp>

#include <boost/filesystem.hpp>

#include <fstream>

namespace troupe::server {
namespace fs = boost::filesystem;

namespace {

struct EvalRun {
    std::string id;   // "<folder index>:<path below it, '/' as ':'>"
    fs::path dir;
};

/// Every folder holding results.json, at most three levels below each eval folder.
std::vector<EvalRun> find_runs(const App& app) {
    std::vector<EvalRun> runs;
    for (size_t i = 0; i < app.options.eval_dirs.size(); ++i) {
        const fs::path root = app.options.eval_dirs[i];
        boost::system::error_code ec;
        if (!fs::is_directory(root, ec)) continue;
        for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
            if (it.depth() > 3) { it.disable_recursion_pending(); continue; }
            if (it->path().filename() != "results.json") continue;
            std::string rel = fs::relative(it->path().parent_path(), root).generic_string();
            if (rel == ".") rel.clear();
            std::string id = std::to_string(i) + ":" + rel;
            std::replace(id.begin() + 2, id.end(), '/', ':');
            runs.push_back({id, it->path().parent_path()});
        }
    }
    std::sort(runs.begin(), runs.end(), [](auto& a, auto& b) { return a.id < b.id; });
    return runs;
}

EvalRun find_run(const App& app, const std::string& id, const std::string& param) {
    for (auto& run : find_runs(app))
        if (run.id == id) return run;
    throw HttpError(404, param, "no eval run '" + id + "'");
}

nlohmann::json read_results(const EvalRun& run) {
    std::ifstream in((run.dir / "results.json").string());
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded()) throw HttpError(500, {}, (run.dir / "results.json").string() + ": not valid JSON");
    return j;
}

nlohmann::json run_summary(const EvalRun& run) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& entry : fs::directory_iterator(run.dir))
        if (fs::is_regular_file(entry.path())) files.push_back(entry.path().filename().string());
    std::sort(files.begin(), files.end());
    nlohmann::json r = read_results(run);
    return {{"id", run.id}, {"object", "eval.run"}, {"name", run.dir.filename().string()},
            {"suite", r.contains("suite") ? r["suite"].value("name", "") : ""},
            {"generated", r.value("generated", "")}, {"git_revision", r.value("git_revision", "")},
            {"rows", r.contains("report_rows") ? r["report_rows"].size() : 0}, {"files", files}};
}

}  // namespace

void add_eval_routes(httplib::Server& http, App& app) {
    http.Get("/v1/eval/reports", openai_route([&app](const httplib::Request&, httplib::Response& res) {
        nlohmann::json data = nlohmann::json::array();
        for (const auto& run : find_runs(app)) data.push_back(run_summary(run));
        send_json(res, {{"object", "list"}, {"data", data}});
    }));
    http.Get(R"(/v1/eval/reports/([0-9]+:[A-Za-z0-9_.:-]*))", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        EvalRun run = find_run(app, req.matches[1], "id");
        nlohmann::json body = run_summary(run);
        body["results"] = read_results(run);
        send_json(res, body);
    }));
    http.Get(R"(/v1/eval/reports/([0-9]+:[A-Za-z0-9_.:-]*)/files/(.+))",
             openai_route([&app](const httplib::Request& req, httplib::Response& res) {
                 EvalRun run = find_run(app, req.matches[1], "id");
                 const std::string file = file_under(run.dir.string(), req.matches[2]);
                 std::ifstream in(file, std::ios::binary);
                 res.set_content(std::string((std::istreambuf_iterator<char>(in)), {}), content_type(file));
             }));
    http.Get("/v1/eval/compare", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        if (!req.has_param("a")) throw HttpError(400, "a", "'a' (an eval run id) is required");
        if (!req.has_param("b")) throw HttpError(400, "b", "'b' (an eval run id) is required");
        EvalRun a = find_run(app, req.get_param_value("a"), "a"), b = find_run(app, req.get_param_value("b"), "b");
        nlohmann::json table;
        const std::string md = eval::compare_results(read_results(a), read_results(b), a.id, b.id, &table);
        table["markdown"] = md;
        send_json(res, table);
    }));
}

}  // namespace troupe::server
