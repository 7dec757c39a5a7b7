// End-to-end test of the eval harness with test-only backends: run, interrupt, resume, report, compare.
#define BOOST_TEST_MODULE eval harness
#include <boost/test/unit_test.hpp>

#include <troupe/eval/journal.hpp>
#include <troupe/eval/report.hpp>
#include <troupe/eval/results.hpp>
#include <troupe/eval/runner.hpp>
#include <troupe/eval/suite.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

namespace fs = std::filesystem;
using namespace troupe;
using nlohmann::json;

namespace {

HostOptions options() {
    HostOptions o;
    o.plugin_paths = {EVAL_TEST_PLUGIN_DIR, std::string(TROUPE_BINARY_DIR) + "/plugins"};
    o.character_paths = {std::string(EVAL_TEST_FIXTURES) + "/characters"};
    o.log_level = LogLevel::error;
    return o;
}

std::string fresh_dir(const std::string& name) {
    fs::path p = fs::path(TROUPE_BINARY_DIR) / "eval-harness-test" / name;
    fs::remove_all(p);
    return p.string();
}

// A case row without the fields that legitimately differ between runs (timings, memory, timestamps).
json stable(json row) {
    for (const char* k : {"latency_s", "synth_s", "rtf", "peak_rss_mib", "peak_rss_scope", "gpu_mib", "finished", "backend_seconds"})
        row.erase(k);
    return row;
}

const json* find_row(const json& results, const std::string& scope, const std::string& item, const std::string& metric_prefix) {
    for (const auto& r : results["report_rows"])
        if (r["scope"] == scope && r["item"] == item && r.value("metric", "").rfind(metric_prefix, 0) == 0) return &r;
    return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_CASE(suite_file_errors_name_the_place) {
    std::string path = fresh_dir("bad-suite") + "/bad.toml";
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << "name = \"x\"\n[text]\nrepeats = \"two\"\n";
    try {
        eval::load_suite(path);
        BOOST_FAIL("expected an error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("bad.toml:3:") != std::string::npos, e.what());
    }
    std::ofstream(path) << "name = \"x\"\nunknown_key = 1\n";
    BOOST_CHECK_THROW(eval::load_suite(path), Error);
    BOOST_CHECK_THROW(eval::load_suite(path + ".missing"), Error);
}

BOOST_AUTO_TEST_CASE(run_interrupt_resume_report_compare) {
    Host host(options());
    eval::Suite suite = eval::load_suite(std::string(EVAL_TEST_FIXTURES) + "/suite.toml");

    // an uninterrupted run
    std::string full_dir = fresh_dir("full");
    eval::RunOptions full;
    full.out_dir = full_dir;
    eval::RunSummary s_full = eval::run_suite(suite, host, full);
    BOOST_TEST(s_full.ran == s_full.total);
    BOOST_TEST(s_full.total > 15u);

    // the same run, stopped after 7 cases, with a torn line appended (killed mid-write), then resumed
    std::string dir = fresh_dir("resumed");
    eval::RunOptions part;
    part.out_dir = dir;
    part.limit = 7;
    eval::RunSummary s1 = eval::run_suite(suite, host, part);
    BOOST_TEST(s1.ran == 7u);
    std::ofstream(dir + "/cases.jsonl", std::ios::app) << R"({"id": "alpha/scenario-)";
    part.limit = 0;
    eval::RunSummary s2 = eval::run_suite(suite, host, part);
    BOOST_TEST(s2.already_done == 7u);
    BOOST_TEST(s2.ran == s_full.total - 7);
    BOOST_TEST(!s2.notes.empty());  // the torn line was reported

    auto a = eval::read_journal(full_dir + "/cases.jsonl").rows;
    auto b = eval::read_journal(dir + "/cases.jsonl").rows;
    BOOST_REQUIRE(a.size() == b.size());
    std::set<std::string> ids;
    for (size_t i = 0; i < a.size(); ++i) {
        BOOST_TEST(a[i]["id"] == b[i]["id"]);
        BOOST_TEST(stable(a[i]) == stable(b[i]), "row " << a[i]["id"]);
        BOOST_TEST(ids.insert(b[i]["id"].get<std::string>()).second, "duplicate " << b[i]["id"]);
    }

    // a third run does nothing
    eval::RunSummary s3 = eval::run_suite(suite, host, part);
    BOOST_TEST(s3.ran == 0u);

    // failures: marked, run went on
    auto row = [&](const std::string& id) -> json {
        for (const auto& r : b)
            if (r["id"] == id) return r;
        return {};
    };
    BOOST_TEST(row("alpha/scenario-3")["status"] == "failed");
    BOOST_TEST(row("alpha/scenario-3")["error"].get<std::string>().find("asked to fail") != std::string::npos);
    BOOST_TEST(row("alpha/scenario-3/speech")["status"] == "skipped");
    BOOST_TEST(row("alpha/voice-crash")["status"] == "failed");
    BOOST_TEST(row("beta/voice-s1")["status"] == "ok");
    BOOST_TEST(row("beta/scenario-2")["stop"] == "length");
    BOOST_TEST(row("alpha/scenario-1")["format"]["strict"] == true);
    BOOST_TEST(row("alpha/voice-silent")["signal"]["flags"][0] == "leading_silence");
    BOOST_TEST(row("beta/voice-s1")["embedding"].size() == 192u);
    BOOST_TEST(row("alpha/scenario-1")["levels"][0] == "hasipsio");

    // a journal with another configuration is refused
    BOOST_CHECK_THROW(eval::Journal(dir + "/cases.jsonl", "0000"), Error);

    // results and reports
    json results = eval::build_results(suite, host, dir);
    const json* fmt_beta = find_row(results, "beta", "형식 일관성", "");
    BOOST_REQUIRE(fmt_beta);
    BOOST_TEST((*fmt_beta)["value_num"].get<double>() == 0.5);
    BOOST_TEST((*fmt_beta)["verdict"] == eval::kFail);
    const json* fmt_alpha = find_row(results, "alpha", "형식 일관성", "");
    BOOST_TEST((*fmt_alpha)["value_num"].get<double>() == 2.0 / 3, boost::test_tools::tolerance(1e-9));
    // ASR: s1 (2.1 s) is heard right (CER 0); every longer utterance is heard as another sentence
    BOOST_TEST(row("alpha/voice-s1")["asr"]["cer"].get<double>() == 0.0);
    BOOST_TEST(row("alpha/voice-s1")["asr"]["wer"].get<double>() == 0.0);
    BOOST_TEST(row("alpha/voice-s2")["asr"]["cer"].get<double>() > 0.5);
    const json* cer = find_row(results, "alpha", "발음 정확도", "CER");
    BOOST_REQUIRE(cer);
    BOOST_TEST((*cer)["verdict"] == eval::kFail);
    BOOST_TEST((*cer)["value_num"].get<double>() > 0.05);
    BOOST_TEST((*cer)["note"].get<std::string>().find("eval-fake-asr") == std::string::npos);  // describe(), not the name
    // MOS-S only through the calibration file: cosine c maps to 1 + 4c here
    const json* smos = find_row(results, "alpha", "화자 유사도", "MOS-S");
    BOOST_REQUIRE(smos);
    BOOST_TEST((*smos)["value_num"].is_number());
    BOOST_TEST((*smos)["note"].get<std::string>().find("test fixture") != std::string::npos);
    // the synthesis success rate counts the hard ASR failures (CER > 0.5)
    const json* success = find_row(results, "alpha", "합성 성공률", "");
    BOOST_TEST((*success)["value_num"].get<double>() < 0.5);
    const json* mos = find_row(results, "alpha", "음성 품질", "MOS");
    BOOST_TEST((*mos)["verdict"] == eval::kNA);
    BOOST_TEST((*mos)["note"].get<std::string>().find("not a MOS") != std::string::npos);
    const json* conf = find_row(results, "전체", "화자 혼동률", "");
    BOOST_REQUIRE(conf);
    BOOST_TEST((*conf)["value_num"].get<double>() == 0.0);
    const json* glitch = find_row(results, "alpha", "무음/글리치", "");
    BOOST_TEST((*glitch)["value_num"].get<double>() > 0.0);
    const json* distinct = find_row(results, "전체", "페르소나 구별도", "문자");
    BOOST_REQUIRE(distinct);
    BOOST_TEST((*distinct)["value_num"].get<double>() == 1.0);
    BOOST_TEST(results["cases"].size() == b.size());
    BOOST_TEST(results["config_hash"].get<std::string>().size() == 64u);

    std::string md = eval::render_markdown(results);
    BOOST_TEST(md.find("| 항목 | 지표 | 목표치 | 결과치 | 판정 |") != std::string::npos);
    BOOST_TEST(md.find("알파 (alpha)") != std::string::npos);
    std::string html = eval::render_html(results);
    BOOST_TEST(html.find("<svg") != std::string::npos);
    BOOST_TEST(html.find("http://") == html.find("http://www.w3.org"));  // nothing fetched from the network

    // compare: identical runs have no verdict changes; a changed value shows its delta
    json other = results;
    for (auto& r : other["report_rows"])
        if (r["scope"] == "beta" && r["item"] == "형식 일관성") { r["value_num"] = 1.0; r["verdict"] = eval::kPass; }
    json cmp;
    std::string text = eval::compare_results(results, other, "A", "B", &cmp);
    BOOST_TEST(cmp["verdict_changes"].size() == 1u);
    BOOST_TEST(text.find("+0.5") != std::string::npos);
    json same;
    eval::compare_results(results, results, "A", "A", &same);
    BOOST_TEST(same["verdict_changes"].empty());
}

// The runner makes requests as `troupe say` does (troupe/request.hpp): the character's hooks run on
// both sides of generation, so what is scored is the line a user would get.
BOOST_AUTO_TEST_CASE(the_runner_runs_character_hooks) {
    const fs::path chars = fs::path(fresh_dir("hooks")) / "characters";
    const fs::path gamma = chars / "gamma";
    fs::create_directories(gamma / "hooks");
    for (const char* f : {"plugin.toml", "libfixture-hooks.so"})
        fs::copy_file(fs::path(EVAL_TEST_HOOKS_DIR) / f, gamma / "hooks" / f, fs::copy_options::overwrite_existing);
    std::ofstream(gamma / "character.toml")
        << "id = \"gamma\"\nname = \"감마\"\nhooks = \"hooks\"\n[persona]\ndefinition = \"FORMAL 서명하는 사원\"\n"
           "speech_level = \"hasipsio\"\n[text]\nbackend = \"eval-fake\"\n[speech]\nbackend = \"eval-fake-voice\"\n"
           "[[eval.scenarios]]\nsituation = \"회식 장소를 정한다\"\naction = \"\"\n";
    const fs::path suite_path = chars.parent_path() / "suite.toml";
    std::ofstream(suite_path) << "name = \"hooks\"\n[text]\ncharacters = [\"gamma\"]\n";
    HostOptions o = options();
    o.character_paths = {chars.string()};
    Host host(o);
    eval::RunOptions run;
    run.out_dir = (chars.parent_path() / "out").string();
    const eval::RunSummary s = eval::run_suite(eval::load_suite(suite_path.string()), host, run);
    BOOST_TEST(s.failed == 0u);
    const eval::JournalContents journal = eval::read_journal(run.out_dir + "/cases.jsonl");
    size_t signed_lines = 0, text_rows = 0;
    for (const json& row : journal.rows) {
        if (row.value("type", "") != "text") continue;
        ++text_rows;
        const std::string text = row["text"].get<std::string>();
        BOOST_TEST(text.size() > std::string(" (검수 완료)").size());
        signed_lines += text.rfind(" (검수 완료)") == text.size() - std::string(" (검수 완료)").size();
    }
    BOOST_TEST(text_rows >= 1u);
    BOOST_TEST(signed_lines == text_rows);
}

// The field's yardsticks as scorers (whisper, wavlm-sv, utmos) on their tiny test models: the report fills
// predicted MOS, SIM and CER/WER and names each model with its file hash.
BOOST_AUTO_TEST_CASE(scorer_plugins_fill_mos_sim_and_cer) {
    const std::string dir = fresh_dir("scorers");
    fs::create_directories(dir);
    const std::string src = TROUPE_SOURCE_DIR;
    {
        std::ofstream cfg(dir + "/troupe.toml");
        cfg << "[plugin.whisper]\nmodel.dir = \"" << src << "/tests/whisper/data/v80/model\"\nmax_new_tokens = \"20\"\n"
            << "[plugin.wavlm-sv]\nmodel.dir = \"" << src << "/tests/wavlm-sv/data/base/model\"\n"
            << "[plugin.utmos]\nmodel.file = \"" << src << "/tests/utmos/data/tiny/model/utmos22_strong_tiny.pt\"\n";
        std::ifstream in(std::string(EVAL_TEST_FIXTURES) + "/suite.toml");
        std::string suite((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        suite = suite.substr(0, suite.find("[scorers]"));
        // The test plugins hold a fake ASR, so the transcriber is named; the speaker encoder and quality go through
        // "auto", which must prefer the configured models over speaker-mfcc and signal-quality.
        suite += "[scorers]\ntranscriber = \"whisper\"\nspeaker_encoder = \"auto\"\nquality = [\"auto\"]\n";
        std::ofstream(dir + "/suite.toml") << suite;
    }
    HostOptions o = options();
    o.config_file = dir + "/troupe.toml";
    Host host(o);
    eval::Suite suite = eval::load_suite(dir + "/suite.toml");
    eval::RunOptions run;
    run.out_dir = dir + "/run";
    eval::run_suite(suite, host, run);
    json results = eval::build_results(suite, host, run.out_dir);
    BOOST_TEST(results["scorers"]["transcriber"]["plugin"] == "whisper");
    BOOST_TEST(results["scorers"]["speaker_encoder"]["plugin"] == "wavlm-sv");
    BOOST_TEST(results["scorers"]["transcriber"]["describe"].get<std::string>().find("sha256") != std::string::npos);
    const json* mos = find_row(results, "alpha", "음성 품질", "predicted MOS (UTMOS22)");
    BOOST_REQUIRE(mos);
    BOOST_TEST((*mos)["value_num"].is_number());
    BOOST_TEST((*mos)["value"].get<std::string>().find("95%") != std::string::npos);
    const json* cer = find_row(results, "alpha", "발음 정확도", "CER");
    BOOST_REQUIRE(cer);
    BOOST_TEST((*cer)["value_num"].is_number());
    const json* sim = find_row(results, "alpha", "화자 유사도", "코사인");
    BOOST_REQUIRE(sim);
    BOOST_TEST((*sim)["value_num"].is_number());
    const std::string md = eval::render_markdown(results);
    BOOST_TEST(md.find("whisper") != std::string::npos);
    BOOST_TEST(md.find("utmos") != std::string::npos);
}

namespace {
/// The text rows of a run's journal by id, without what differs between runs or batch sizes.
std::map<std::string, json> text_rows(const std::string& out_dir) {
    std::map<std::string, json> rows;
    for (const json& row : eval::read_journal(out_dir + "/cases.jsonl").rows)
        if (row.value("type", "") == "text") {
            json r = stable(row);
            r.erase("batch");
            rows[row["id"].get<std::string>()] = r;
        }
    return rows;
}
}  // namespace

// A suite's text cases decoded in batches (eeve-lora's BatchTextBackend on the embedded model, each
// row with its character's adapter) give the rows of one-by-one decoding: greedy and sampled with each
// case's seed alike. A run stopped mid-way (--limit inside a batch) resumes with only the unfinished
// cases and ends with the same rows.
BOOST_AUTO_TEST_CASE(batched_text_cases_equal_one_by_one) {
    HostOptions o;
    o.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    o.character_paths = {std::string(TROUPE_SOURCE_DIR) + "/characters"};
    o.log_level = LogLevel::error;
    Host host(o);
    const std::string dir = fresh_dir("batched");
    fs::create_directories(dir);
    for (const char* mode : {"greedy", "sampled"}) {
        const std::string suite_path = dir + "/" + mode + ".toml";
        std::ofstream(suite_path) << "name = \"" << mode << "\"\n[text]\nmax_new_tokens = 10\nbatch_size = 4\n"
                                  << "characters = [\"bujang\", \"sinip\", \"client\"]\n"
                                  << "greedy = " << (std::string(mode) == "greedy" ? "true" : "false") << "\n"
                                  << "[scorers]\ntranscriber = \"\"\nspeaker_encoder = \"\"\nquality = []\n";
        const eval::Suite suite = eval::load_suite(suite_path);
        eval::RunOptions batched, alone, part;
        batched.out_dir = dir + "/" + mode + "-batched";
        alone.out_dir = dir + "/" + mode + "-alone";
        alone.batch_size = 1;
        part.out_dir = dir + "/" + mode + "-resumed";
        part.limit = 3;  // the first batch of 4 is cut to 3 cases
        const eval::RunSummary b = eval::run_suite(suite, host, batched);
        const eval::RunSummary a = eval::run_suite(suite, host, alone);
        BOOST_TEST(b.failed == 0u);
        BOOST_TEST(b.total >= 6u);
        const auto rb = text_rows(batched.out_dir), ra = text_rows(alone.out_dir);
        BOOST_REQUIRE_EQUAL(rb.size(), ra.size());
        for (const auto& [id, row] : rb) BOOST_TEST(row == ra.at(id), mode << " " << id << ": " << row.dump() << " vs " << ra.at(id).dump());
        size_t in_batches = 0;
        for (const json& row : eval::read_journal(batched.out_dir + "/cases.jsonl").rows) {
            BOOST_TEST(row["latency_s"].get<double>() > 0);
            if (row.contains("batch")) {
                ++in_batches;
                BOOST_TEST(row["batch"]["size"].get<int>() <= 4);
                BOOST_TEST(row["batch"]["seconds_per_case"].get<double>() <= row["latency_s"].get<double>());
            }
        }
        BOOST_TEST(in_batches == rb.size());
        for (const json& row : eval::read_journal(alone.out_dir + "/cases.jsonl").rows) BOOST_TEST(!row.contains("batch"));

        const eval::RunSummary p1 = eval::run_suite(suite, host, part);
        BOOST_TEST(p1.ran == 3u);
        BOOST_TEST(eval::read_journal(part.out_dir + "/cases.jsonl").rows.size() == 3u);
        part.limit = 0;
        const eval::RunSummary p2 = eval::run_suite(suite, host, part);
        BOOST_TEST(p2.already_done == 3u);
        BOOST_TEST(p2.ran == b.total - 3);
        BOOST_TEST(text_rows(part.out_dir) == rb);
    }
    // a batch size outside 1-64 from the caller is refused before anything runs
    eval::RunOptions bad;
    bad.out_dir = dir + "/bad";
    bad.batch_size = 65;
    BOOST_CHECK_THROW(eval::run_suite(eval::load_suite(dir + "/greedy.toml"), host, bad), Error);
    BOOST_TEST(!fs::exists(bad.out_dir + "/cases.jsonl"));
}
