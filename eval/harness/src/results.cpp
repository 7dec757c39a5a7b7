#include <troupe/eval/results.hpp>

#include <troupe/eval/copy_rate.hpp>
#include <troupe/eval/distinctiveness.hpp>
#include <troupe/eval/error_rate.hpp>
#include <troupe/eval/latency.hpp>
#include <troupe/eval/line_length.hpp>
#include <troupe/eval/runner.hpp>
#include <troupe/eval/signal_checks.hpp>
#include <troupe/eval/speaker.hpp>
#include <troupe/eval/speech_level.hpp>
#include <troupe/eval/stats.hpp>
#include <troupe/eval/util.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <set>

namespace fs = std::filesystem;
using nlohmann::json;

namespace troupe::eval {

JournalContents read_journal(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(Errc::not_found, "no journal at " + path + " (run the suite first)");
    JournalContents c;
    std::map<std::string, size_t> index;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        json j;
        try {
            j = json::parse(line);
        } catch (const std::exception&) {
            continue;  // a torn or corrupt line: skip it, keep the rows after it (as Journal does)
        }
        // Lines that are not objects, or whose "type" or "id" is not a string, are not journal lines:
        // skipped (value() and get<std::string>() would throw a raw JSON type error on them).
        if (!j.is_object()) continue;
        const auto type_it = j.find("type");
        if (type_it != j.end() && !type_it->is_string()) continue;
        const std::string type = type_it != j.end() ? type_it->get<std::string>() : "";
        if (type == "header") c.header = j;
        else if (type == "event") c.events.push_back(j);
        else if (j.contains("id") && j["id"].is_string()) {
            std::string id = j["id"];
            auto it = index.find(id);
            if (it == index.end()) { index[id] = c.rows.size(); c.rows.push_back(j); }
            else c.rows[it->second] = j;
        }
    }
    return c;
}

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Row {
    std::string scope, item, metric, target, value;
    double value_num = kNaN;
    std::string verdict, note;
};
json row_json(const Row& r) {
    return {{"scope", r.scope}, {"item", r.item}, {"metric", r.metric}, {"target", r.target}, {"value", r.value},
            {"value_num", std::isfinite(r.value_num) ? json(r.value_num) : json(nullptr)},
            {"verdict", r.verdict}, {"note", r.note}};
}
std::string pct(double v, int digits = 1) { return std::isfinite(v) ? fmt::format("{:.{}f}%", 100 * v, digits) : "n/a"; }
std::string num(double v, int digits = 2) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "n/a"; }

bool is_voice_row(const json& r) {
    std::string t = r.value("type", "");
    return t == "speech" || t == "voice";
}
bool ok(const json& r) { return r.value("status", "") == "ok"; }

std::vector<std::string> load_training_lines(const std::string& path, const std::string& character, bool& per_character) {
    std::vector<std::string> lines;
    std::ifstream in(path);
    std::string line;
    per_character = false;
    while (std::getline(in, line)) {
        try {
            json j = json::parse(line);
            std::string out = j.value("output", "");
            if (out.empty()) continue;
            if (j.contains("character")) {
                per_character = true;
                if (j.value("character", "") != character) continue;
            }
            lines.push_back(out);
        } catch (const std::exception&) {
        }
    }
    return lines;
}

std::string level_ko(SpeechLevel level) {
    switch (level) {
        case SpeechLevel::hasipsio: return "하십시오체";
        case SpeechLevel::haeyo: return "해요체";
        case SpeechLevel::banmal: return "반말";
        case SpeechLevel::mixed: return "섞임";
    }
    return to_string(level);
}

json latency_json(const LatencyStats& s) {
    return {{"n", s.n}, {"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90}, {"p95", s.p95}, {"max", s.max},
            {"share_within", s.share_within}, {"limit", s.limit}};
}

json level_counts_json(const LevelCounts& lc) {
    return {{"hasipsio", lc.sentences[0]}, {"haeyo", lc.sentences[1]}, {"banmal", lc.sentences[2]}, {"ambiguous", lc.sentences[3]}};
}

double max_of(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end()); }

// ---------------------------------------------------------------- provenance

/// The journal's events by kind: the latest "run" event, every model load and every warm-up.
struct Events {
    json last_run;
    std::vector<json> loads, warmups;
};

Events sort_events(const JournalContents& journal) {
    Events ev;
    for (const auto& e : journal.events) {
        const std::string kind = e.value("event", "");
        if (kind == "run") ev.last_run = e;
        else if (kind == "load") ev.loads.push_back(e);
        else if (kind == "warmup") ev.warmups.push_back(e);
    }
    return ev;
}

/// Where the numbers come from: the suite, configuration hashes, git revision, scorers and plugins
/// (with versions), the runs, load and warm-up events, and the seeds.
void add_provenance(const Suite& suite, const Host& host, const JournalContents& journal, const Events& ev, json& results) {
    results["suite"] = suite.to_json();
    results["suite_path"] = suite.path;
    results["config_hash"] = journal.header.value("config_hash", "");
    results["current_config_hash"] = config_hash(suite, host);
    results["generated"] = utc_now();
    results["git_revision"] = ev.last_run.value("git_revision", git_revision(source_dir()));
    results["scorers"] = ev.last_run.contains("scorers") ? ev.last_run["scorers"] : json::object();
    json plugins = json::array();
    for (const auto& p : host.plugins())
        plugins.push_back({{"name", p.manifest.name}, {"kind", to_string(p.manifest.kind)}, {"version", p.manifest.version},
                           {"ok", p.ok}, {"message", p.message}});
    results["plugins"] = plugins;
    results["runs"] = json::array();
    for (const auto& e : journal.events)
        if (e.value("event", "") == "run" || e.value("event", "") == "run_end") results["runs"].push_back(e);
    results["load_events"] = ev.loads;
    results["warmup_events"] = ev.warmups;
    json seeds = json::object();
    for (const auto& r : journal.rows)
        if (r.value("type", "") == "text") seeds[r.value("id", "")] = r.value("seed", 0);
    results["seeds"] = {{"suite_seed", suite.seed}, {"per_case", seeds}, {"classifier", "deterministic (no sampling)"},
                        {"speaker_projection", "plugin parameter projection.seed"}};
}

/// Which scorers the latest run had, and what the rows say where one was missing.
struct Scorers {
    json recorded;  // results["scorers"]
    bool have_asr = false, have_spk = false;
    std::string asr_method, spk_method;  // the scorers' describe() strings
    std::string mos_plugin, mos_describe, mos_reason = "no quality-estimator plugin is loaded";

    std::string reason(const char* key) const {
        if (!recorded.contains(key)) return "scorer not recorded";
        return recorded[key].value("reason", "");
    }
};

Scorers read_scorers(const json& recorded) {
    Scorers s;
    s.recorded = recorded;
    auto available = [&](const char* key) { return recorded.contains(key) && recorded[key].value("available", false); };
    s.have_asr = available("transcriber");
    s.have_spk = available("speaker_encoder");
    if (s.have_asr) s.asr_method = recorded["transcriber"].value("describe", "");
    if (s.have_spk) s.spk_method = recorded["speaker_encoder"].value("describe", "");
    if (!recorded.contains("quality")) return s;
    for (const auto& q : recorded["quality"]) {
        if (!q.value("available", false)) { s.mos_reason = q.value("reason", s.mos_reason); continue; }
        bool is_mos = false;
        for (const auto& cap : q.value("capabilities", json::array()))
            if (cap.get<std::string>().find("mos") != std::string::npos) is_mos = true;
        if (is_mos && s.mos_plugin.empty()) {
            s.mos_plugin = q.value("plugin", "");
            s.mos_describe = q.value("describe", "");
        }
        if (!is_mos)
            s.mos_reason = "no MOS-predicting quality estimator is loaded ('" + q.value("plugin", "") +
                           "' is a signal failure detector, not a MOS)";
    }
    return s;
}

// ---------------------------------------------------------------- what every section reads and adds to

/// Speaker enrolment: each character's centroid over all its enrolment rows, and over the reference
/// recordings only.
struct Enrollment {
    std::map<std::string, Embedding> centroids, reference_centroids;
};

Enrollment enroll(const JournalContents& journal) {
    std::map<std::string, std::vector<Embedding>> all, reference;
    for (const auto& r : journal.rows)
        if (r.value("type", "") == "enroll" && ok(r) && r.contains("embedding")) {
            Embedding e = r["embedding"].get<Embedding>();
            all[r["character"]].push_back(e);
            if (r.value("source", "") == "reference") reference[r["character"]].push_back(e);
        }
    Enrollment en;
    for (const auto& [c, es] : all) en.centroids[c] = centroid(es);
    for (const auto& [c, es] : reference) en.reference_centroids[c] = centroid(es);
    return en;
}

/// The cosine → MOS-S mapping, or why there is none.
struct Calibration {
    std::unique_ptr<SimilarityCalibration> map;
    std::string reason = "no similarity calibration file configured (scorers.similarity_calibration); "
                         "cosine has no public mapping to a 1–5 scale";
};

Calibration load_calibration(const Suite& suite) {
    Calibration cal;
    if (suite.similarity_calibration.empty()) return cal;
    try {
        cal.map = std::make_unique<SimilarityCalibration>(SimilarityCalibration::load(suite.similarity_calibration));
    } catch (const std::exception& e) {
        cal.reason = e.what();
    }
    return cal;
}

struct Context {
    const Suite& suite;
    const JournalContents& journal;
    const Events& events;
    const Scorers& scorers;
    const Enrollment& enrollment;
    const Calibration& calibration;
};

/// What the per-character sections hand on to the report and to the cross-character sections.
struct Accumulated {
    std::vector<Row> rows;
    std::map<std::string, LevelCounts> level_counts;
    std::vector<LabelledLine> labelled;
    std::vector<Trial> trials;
    json latencies = json::object(), lengths = json::object();
};

// ---------------------------------------------------------------- per character: text

/// One character's text cases, gathered from the journal.
struct TextStats {
    size_t n = 0, n_ok = 0, strict = 0, loose = 0;
    std::vector<double> latency, e2e, lengths, lengths_nospace;
    std::vector<std::string> lines, groups;
    std::map<std::string, size_t> stop_counts;
    std::string first_error;
};

TextStats gather_text(const JournalContents& journal, const std::vector<const json*>& text_rows) {
    TextStats t;
    t.n = text_rows.size();
    for (const json* r : text_rows) {
        if (!ok(*r)) {
            if (t.first_error.empty()) t.first_error = r->value("error", "");
            continue;
        }
        ++t.n_ok;
        t.strict += (*r)["format"].value("strict", false);
        t.loose += (*r)["format"].value("loose", false);
        t.stop_counts[r->value("stop", "")]++;
        double lat = r->value("latency_s", 0.0);
        t.latency.push_back(lat);
        const json* speech = nullptr;
        for (const auto& x : journal.rows)
            if (x.value("id", "") == r->value("id", "") + "/speech") speech = &x;
        t.e2e.push_back(lat + (speech ? speech->value("synth_s", 0.0) : 0.0));
        t.lengths.push_back(double((*r)["length"].value("with_spaces", 0)));
        t.lengths_nospace.push_back(double((*r)["length"].value("without_spaces", 0)));
        t.lines.push_back(r->value("line", ""));
        t.groups.push_back(r->value("group", ""));
    }
    return t;
}

/// "text 로드 1.23 s speech 웜업 0.45 s ": the character's model loads and warm-ups, as recorded.
std::string load_text(const json& cj) {
    std::string s;
    for (const char* role : {"text", "speech"})
        if (cj.contains("load") && cj["load"].contains(role))
            s += fmt::format("{} 로드 {:.2f} s ", role, cj["load"][role].value("seconds", 0.0));
    for (const char* role : {"text", "speech"})
        if (cj.contains("warmup") && cj["warmup"].contains(role))
            s += fmt::format("{} 웜업 {:.2f} s ", role, cj["warmup"][role].value("seconds", 0.0));
    return s;
}

/// The copy-rate row (and cj["copy"]): how many generated lines repeat the training data.
void add_copy_rate(const Suite& suite, const Character& c, const std::vector<std::string>& lines, json& cj,
                   std::vector<Row>& rows) {
    if (suite.copy_training.empty() || !fs::exists(suite.copy_training)) {
        rows.push_back({c.id, "복제율", "학습 문장 재현 (정확 / 근접)", "낮을수록 좋음", "n/a", kNaN, kNA,
                        suite.copy_training.empty() ? "suite에 copy.training 없음" : "학습 데이터 없음: " + suite.copy_training});
        return;
    }
    bool per_char = false;
    auto training = load_training_lines(suite.copy_training, c.id, per_char);
    CopyIndex index(training);
    CopyRate cr = copy_rate(index, lines, suite.copy_threshold);
    cj["copy"] = {{"n", cr.n}, {"exact", cr.exact}, {"near", cr.near}, {"exact_rate", cr.exact_rate},
                  {"near_rate", cr.near_rate}, {"threshold", cr.threshold}, {"training_lines", training.size()},
                  {"per_character", per_char}};
    rows.push_back({c.id, "복제율", "학습 문장 재현 (정확 / 근접)", "낮을수록 좋음",
                    fmt::format("정확 {} / 근접 {} (학습 {}문장 대비)", pct(cr.exact_rate), pct(cr.near_rate), training.size()),
                    cr.near_rate, kInfo,
                    fmt::format("근접 = 문자 3-gram Jaccard ≥ {:.2f}; {}", cr.threshold,
                                per_char ? "같은 캐릭터의 학습 문장과 비교" : "전체 학습 문장과 비교")});
}

/// The text section of one character: cj["text"], its rows (format, latency, load, length, speech
/// level, copy rate), and its lines for the cross-character measures.
void add_text_section(const Context& ctx, const Character& c, json& cj, Accumulated& acc) {
    std::vector<const json*> text_rows;
    for (const auto& r : ctx.journal.rows)
        if (r.value("character", "") == c.id && r.value("type", "") == "text") text_rows.push_back(&r);
    if (text_rows.empty()) return;
    const Suite& suite = ctx.suite;
    const TextStats t = gather_text(ctx.journal, text_rows);
    for (size_t i = 0; i < t.lines.size(); ++i) acc.labelled.push_back({c.id, t.groups[i], t.lines[i]});
    const size_t n = t.n;
    LatencyStats lat = latency_stats(t.latency, suite.latency_limit_s);
    LatencyStats lat_e2e = latency_stats(t.e2e, suite.latency_limit_s);
    LengthStats len = length_stats(t.lengths, c.min_line_chars, c.max_line_chars);
    LengthStats len_ns = length_stats(t.lengths_nospace, c.min_line_chars, c.max_line_chars);
    LevelCounts levels = count_levels(t.lines);
    acc.level_counts[c.id] = levels;
    auto shares = levels.definite_shares();
    json speech_levels = level_counts_json(levels);
    speech_levels["dominant"] = level_key(levels.dominant());
    cj["text"] = {{"cases", n}, {"ok", t.n_ok}, {"failed", n - t.n_ok},
                  {"format_strict", n ? double(t.strict) / n : kNaN}, {"format_loose", n ? double(t.loose) / n : kNaN},
                  {"stop_reasons", t.stop_counts},
                  {"latency_text", latency_json(lat)}, {"latency_scenario", latency_json(lat_e2e)},
                  {"latency_values", t.e2e},
                  {"length", {{"n", len.n}, {"mean", len.mean}, {"q1", len.q1}, {"q3", len.q3}, {"iqr", len.iqr},
                              {"min", len.min}, {"max", len.max}, {"share_in_range", len.share_in_range},
                              {"range", {len.lo, len.hi}}, {"mean_without_spaces", len_ns.mean},
                              {"values", t.lengths}}},
                  {"speech_levels", speech_levels}};
    acc.latencies[c.id] = t.e2e;
    acc.lengths[c.id] = t.lengths;

    const std::string& scope = c.id;
    std::vector<Row>& rows = acc.rows;
    double strict_rate = n ? double(t.strict) / n : kNaN, loose_rate = n ? double(t.loose) / n : kNaN;
    if (t.n_ok == 0)
        rows.push_back({scope, "텍스트", "생성된 대사", "—", fmt::format("n/a (텍스트 케이스 {}개 모두 실패)", n), kNaN, kNA,
                        "텍스트 지표를 계산할 대사가 없음: " + t.first_error});
    else
        rows.push_back({scope, "형식 일관성", "### 구조 유지 + EOS 종료 (strict)", "≥ 90%",
                        fmt::format("{} (loose {}; {}/{} 케이스)", pct(strict_rate), pct(loose_rate), t.strict, n),
                        strict_rate, strict_rate >= 0.9 ? kPass : kFail,
                        "strict: 원문 그대로, EOS 종료만 인정; loose: 머리말/마크다운/화자 태그 제거, ### 정지 문자열도 인정. 실패한 생성은 불합격으로 셈"});
    rows.push_back({scope, "응답 지연", suite.speak_lines ? "시나리오당 최대 (텍스트+음성)" : "시나리오당 최대 (텍스트 생성)",
                    fmt::format("≤ {:.0f} s", suite.latency_limit_s),
                    lat_e2e.n ? fmt::format("최대 {:.2f} s (p50 {:.2f}, p90 {:.2f}; n={})", lat_e2e.max, lat_e2e.p50, lat_e2e.p90, lat_e2e.n) : "n/a",
                    lat_e2e.n ? lat_e2e.max : kNaN,
                    lat_e2e.n ? (lat_e2e.max <= suite.latency_limit_s ? kPass : kFail) : kNA,
                    "웜업 호출과 모델 로드는 제외 (아래 '로드/웜업' 행)"});
    const std::string loads = load_text(cj);
    rows.push_back({scope, "응답 지연", "모델 로드 / 첫 호출 웜업", "—", loads.empty() ? "n/a (이번 실행에서 로드 없음)" : loads,
                    kNaN, kInfo, "로드는 이 캐릭터가 처음 쓴 백엔드에만 기록됨 (백엔드 공유 시 한 번)"});
    rows.push_back({scope, "답변 길이", "평균 길이 (NFC 코드포인트, 공백 포함)",
                    fmt::format("{}–{}자", c.min_line_chars, c.max_line_chars),
                    len.n ? fmt::format("평균 {:.1f}자 (IQR {:.1f}–{:.1f}, 범위 안 {}; 공백 제외 평균 {:.1f})", len.mean, len.q1,
                                        len.q3, pct(len.share_in_range), len_ns.mean)
                          : "n/a",
                    len.n ? len.mean : kNaN,
                    len.n ? (len.mean >= c.min_line_chars && len.mean <= c.max_line_chars ? kPass : kFail) : kNA,
                    "NFC 후 코드포인트 (NFD 아님); ### 머리말과 화자 태그 제거 후"});
    if (t.n_ok == 0) return;  // nothing to measure the speech level or the copy rate on
    rows.push_back({scope, "말투", "문장 종결 화계 분포", "선언: " + level_ko(c.speech_level),
                    fmt::format("하십시오체 {} / 해요체 {} / 반말 {} (불명 {} 문장)", pct(shares[0], 0), pct(shares[1], 0),
                                pct(shares[2], 0), levels.sentences[3]),
                    kNaN, kInfo, "종결 어미 규칙 (모델 없음); 불명 문장은 분포에서 제외"});
    add_copy_rate(suite, c, t.lines, cj, rows);
}

// ---------------------------------------------------------------- per character: voice

/// One character's voice cases, gathered from the journal (skipped cases only counted).
struct VoiceStats {
    size_t n = 0, synthesized = 0, success = 0, flagged = 0, long_n = 0, long_ok = 0, skipped = 0;
    double median_sps = kNaN;  // seconds per syllable of the short utterances (NaN below 3 of them)
    std::map<std::string, size_t> flag_counts;
    std::vector<UtteranceErrors> asr;
    std::vector<double> rtf, rss, gpu, sim_centroid, sim_reference, mos;
    std::string mos_method;  // the estimate's own label, e.g. "predicted MOS (UTMOS22)"
};

/// Seconds per syllable of each synthesized row (0 where there is none); `with_long` counts long-form rows.
std::vector<double> seconds_per_syllable(const std::vector<const json*>& vr, bool with_long) {
    std::vector<double> sps;
    for (const json* r : vr) {
        double a = r->value("audio_s", 0.0);
        size_t syl = r->value("syllables", size_t(0));
        bool counted = with_long || r->value("kind", "") != "long";
        sps.push_back(r->value("synthesized", false) && syl > 0 && counted ? a / double(syl) : 0);
    }
    return sps;
}

EditCounts edit_counts(const json& j) {
    EditCounts e;
    e.ref = j.value("ref", size_t(0)); e.hyp = j.value("hyp", size_t(0)); e.hits = j.value("hits", size_t(0));
    e.sub = j.value("sub", size_t(0)); e.del = j.value("del", size_t(0)); e.ins = j.value("ins", size_t(0));
    return e;
}

/// Walks one character's voice rows: flags (with duration outliers against the voice's own rate),
/// ASR errors, success and long-form success, RTF/memory, similarity and MOS; adds speaker trials.
VoiceStats gather_voice(const Context& ctx, const std::string& id, const std::vector<const json*>& vr,
                        std::vector<Trial>& trials) {
    VoiceStats v;
    std::vector<double> valid;
    for (double s : seconds_per_syllable(vr, false))
        if (s > 0) valid.push_back(s);
    v.median_sps = valid.size() >= 3 ? median(valid) : kNaN;
    // the voice's rate from short utterances; long ones are judged against it too
    const std::vector<double> all_sps = seconds_per_syllable(vr, true);
    const auto& centroids = ctx.enrollment.centroids;
    const auto& reference_centroids = ctx.enrollment.reference_centroids;
    const std::string& mos_plugin = ctx.scorers.mos_plugin;
    for (size_t i = 0; i < vr.size(); ++i) {
        const json& r = *vr[i];
        if (r.value("status", "") == "skipped") { ++v.skipped; continue; }
        ++v.n;
        bool synth = r.value("synthesized", false) || (r.value("status", "") == "ok" && r.contains("signal"));
        if (!synth) {
            v.long_n += r.value("kind", "") == "long";
            continue;
        }
        ++v.synthesized;
        std::vector<std::string> flags;
        if (r.contains("signal")) flags = r["signal"].value("flags", std::vector<std::string>{});
        if (std::isfinite(v.median_sps) && all_sps[i] > 0 &&
            (all_sps[i] < 0.5 * v.median_sps || all_sps[i] > 2.0 * v.median_sps))
            flags.push_back("duration_outlier");
        for (const auto& f : flags) v.flag_counts[f]++;
        if (!flags.empty()) ++v.flagged;
        double cer = kNaN;
        if (r.contains("asr")) {
            UtteranceErrors u;
            u.chars = edit_counts(r["asr"]["chars"]);
            u.words = edit_counts(r["asr"]["words"]);
            v.asr.push_back(u);
            cer = u.cer();
        }
        bool good = flags.empty() && r.value("status", "") == "ok" && !(std::isfinite(cer) && cer > 0.5);
        v.success += good;
        if (r.value("kind", "") == "long") {
            ++v.long_n;
            bool pause_only = true;
            for (const auto& f : flags) pause_only &= (f == "long_pause");
            v.long_ok += pause_only && r.value("status", "") == "ok" && !(std::isfinite(cer) && cer > 0.1) &&
                         r.value("audio_s", 0.0) >= 0.8 * ctx.suite.long_form_min_s;
        }
        if (r.contains("rtf") && r["rtf"].get<double>() >= 0) v.rtf.push_back(r["rtf"]);
        if (r.contains("peak_rss_mib")) v.rss.push_back(r["peak_rss_mib"]);
        if (r.contains("gpu_mib")) v.gpu.push_back(r["gpu_mib"]);
        if (r.contains("embedding")) {
            Embedding e = r["embedding"].get<Embedding>();
            if (centroids.count(id)) v.sim_centroid.push_back(cosine(e, centroids.at(id)));
            if (reference_centroids.count(id)) v.sim_reference.push_back(cosine(e, reference_centroids.at(id)));
            trials.push_back({id, e});
        }
        if (!mos_plugin.empty() && r.contains("quality") && r["quality"].contains(mos_plugin)) {
            v.mos.push_back(r["quality"][mos_plugin].value("score", 0.0));
            if (v.mos_method.empty()) v.mos_method = r["quality"][mos_plugin].value("method", "");
        }
    }
    return v;
}

json voice_json(const VoiceStats& v, const ErrorRateSummary& er) {
    return {{"utterances", v.n}, {"skipped", v.skipped}, {"synthesized", v.synthesized}, {"success", v.success},
            {"flagged", v.flagged}, {"flags", v.flag_counts}, {"seconds_per_syllable_median", v.median_sps},
            {"long_form", {{"n", v.long_n}, {"ok", v.long_ok}}},
            {"rtf", {{"mean", mean(v.rtf)}, {"p90", quantile(v.rtf, 0.9)}, {"n", v.rtf.size()}}},
            {"peak_rss_mib", v.rss.empty() ? json(nullptr) : json(max_of(v.rss))},
            {"gpu_mib", v.gpu.empty() ? json(nullptr) : json(max_of(v.gpu))},
            {"asr", {{"n", er.n}, {"cer_micro", er.cer_micro}, {"cer_macro", er.cer_macro},
                     {"wer_micro", er.wer_micro}, {"wer_macro", er.wer_macro},
                     {"share_cer_above_half", er.share_cer_above_half}}},
            {"similarity", {{"to_centroid_mean", v.sim_centroid.empty() ? json(nullptr) : json(mean(v.sim_centroid))},
                            {"to_reference_mean", v.sim_reference.empty() ? json(nullptr) : json(mean(v.sim_reference))}}}};
}

/// Rows for what the scorer plugins measured: MOS (proxy), MOS-S, cosine similarity, CER and WER.
void add_scorer_rows(const Context& ctx, const std::string& scope, const VoiceStats& v, const ErrorRateSummary& er,
                     std::vector<Row>& rows) {
    const Scorers& sc = ctx.scorers;
    const auto& mos = v.mos;
    if (!mos.empty()) {
        const Interval ci = bootstrap_mean(mos);
        const std::string label = v.mos_method.empty() ? "MOS (proxy: " + sc.mos_plugin + ")" : v.mos_method;
        rows.push_back({scope, "음성 품질", label, "≥ 4.0",
                        fmt::format("{} [95% {}–{}] (n={})", num(mean(mos)), num(ci.low), num(ci.high), mos.size()), mean(mos),
                        mean(mos) >= 4.0 ? kPass : kFail,
                        "예측 MOS (proxy), 사람 평가 아님: " + sc.mos_describe + "; 구간은 발화 부트스트랩"});
    } else {
        rows.push_back({scope, "음성 품질", "MOS (proxy)", "≥ 4.0", "n/a", kNaN, kNA, sc.mos_reason});
    }
    const auto& sim = v.sim_centroid;
    if (ctx.calibration.map && !sim.empty()) {
        double smos = ctx.calibration.map->map(mean(sim));
        rows.push_back({scope, "화자 유사도", "MOS-S (proxy, 보정 파일)", "≥ 4.2", num(smos), smos, smos >= 4.2 ? kPass : kFail,
                        "코사인 → MOS-S: " + ctx.calibration.map->method()});
    } else {
        rows.push_back({scope, "화자 유사도", "MOS-S (proxy)", "≥ 4.2", "n/a", kNaN, kNA,
                        !sc.have_spk ? "speaker encoder 없음: " + sc.reason("speaker_encoder") : ctx.calibration.reason});
    }
    rows.push_back({scope, "화자 유사도", "코사인 (등록 centroid / 참조 음성)", "—",
                    sim.empty() ? "n/a"
                                : fmt::format("centroid {} / 참조 {}", num(mean(sim), 3),
                                              v.sim_reference.empty() ? "n/a (참조 음성 없음)" : num(mean(v.sim_reference), 3)),
                    sim.empty() ? kNaN : mean(sim), sim.empty() ? kNA : kInfo,
                    sc.have_spk ? "proxy: " + sc.spk_method + "; centroid는 등록 발화에서" : "speaker encoder 없음: " + sc.reason("speaker_encoder")});
    if (er.n) {
        rows.push_back({scope, "발음 정확도", "CER (음절, 공백 제거, micro)", "≤ 5%",
                        fmt::format("{} (macro {}, CER>0.5 비율 {}; n={})", pct(er.cer_micro, 2), pct(er.cer_macro, 2),
                                    pct(er.share_cer_above_half), er.n),
                        er.cer_micro, er.cer_micro <= 0.05 ? kPass : kFail, "ASR: " + sc.asr_method + "; 정규화: NFC, 괄호 제거, 숫자 읽기 통일, 문장부호 제거"});
        rows.push_back({scope, "발음 정확도", "WER (어절, micro)", "≤ 10%",
                        fmt::format("{} (macro {})", pct(er.wer_micro, 2), pct(er.wer_macro, 2)), er.wer_micro,
                        er.wer_micro <= 0.10 ? kPass : kFail, "어절 WER은 띄어쓰기 차이에 민감 (보조 지표)"});
    } else {
        std::string why = sc.have_asr ? "전사 결과 없음 (모든 케이스 실패)" : "transcriber 없음: " + sc.reason("transcriber");
        rows.push_back({scope, "발음 정확도", "CER (음절, 공백 제거)", "≤ 5%", "n/a", kNaN, kNA, why});
        rows.push_back({scope, "발음 정확도", "WER (어절)", "≤ 10%", "n/a", kNaN, kNA, why});
    }
}

/// Rows for synthesis itself: memory, success rate (Wilson interval), glitches, long form and RTF.
void add_synthesis_rows(const Context& ctx, const std::string& scope, const VoiceStats& v, std::vector<Row>& rows) {
    const Suite& suite = ctx.suite;
    const size_t n = v.n;
    double success_rate = n ? double(v.success) / n : kNaN;
    double glitch_rate = v.synthesized ? double(v.flagged) / v.synthesized : kNaN;
    rows.push_back({scope, "메모리", "최대 RSS (프로세스)", "—",
                    v.rss.empty() ? "n/a" : fmt::format("{:.0f} MiB", max_of(v.rss)),
                    v.rss.empty() ? kNaN : max_of(v.rss), v.rss.empty() ? kNA : kInfo,
                    "VmHWM, 케이스마다 /proc/self/clear_refs로 초기화"});
    rows.push_back({scope, "합성 성공률", "예외 없음 + 신호 검사 통과 + CER ≤ 0.5", "≥ 99%",
                    fmt::format("{} ({}/{}; 합성 {})", pct(success_rate), v.success, n, v.synthesized), success_rate,
                    std::isfinite(success_rate) ? (success_rate >= 0.99 ? kPass : kFail) : kNA,
                    fmt::format("95% Wilson 구간 {}–{}{}", pct(wilson(v.success, n).low), pct(wilson(v.success, n).high),
                                ctx.scorers.have_asr ? "" : "; transcriber 없어 CER 조건은 빠짐")});
    std::string flag_text;
    for (const auto& [f, k] : v.flag_counts) flag_text += fmt::format("{} {}, ", f, k);
    rows.push_back({scope, "무음/글리치", "신호 검사 플래그 발화 비율", "≤ 0.5%",
                    fmt::format("{} ({}/{})", pct(glitch_rate, 2), v.flagged, v.synthesized), glitch_rate,
                    std::isfinite(glitch_rate) ? (glitch_rate <= 0.005 ? kPass : kFail) : kNA,
                    "단위: 발화. 에너지 VAD; 앞뒤 무음 > 1 s, 내부 휴지 > 1.5 s, 클리핑, NaN/DC, 급격한 끝, 음절당 길이 이상치" +
                        (flag_text.empty() ? std::string() : "; " + flag_text.substr(0, flag_text.size() - 2))});
    if (v.long_n)
        rows.push_back({scope, "장문 합성", fmt::format("≥ {:.0f} s 텍스트 성공률", suite.long_form_min_s), "≥ 95%",
                        fmt::format("{} ({}/{})", pct(double(v.long_ok) / v.long_n), v.long_ok, v.long_n), double(v.long_ok) / v.long_n,
                        double(v.long_ok) / v.long_n >= 0.95 ? kPass : kFail,
                        "성공: 합성됨, 휴지 외 플래그 없음, 길이 ≥ 0.8×기준, CER ≤ 0.1 (transcriber 있을 때)"});
    else
        rows.push_back({scope, "장문 합성", "≥ 30 s 텍스트 성공률", "≥ 95%", "n/a", kNaN, kNA, "이 suite에 장문(kind = \"long\") 문장 없음"});
    rows.push_back({scope, "합성 속도", "RTF (합성 시간 / 음성 길이)", "—",
                    v.rtf.empty() ? "n/a" : fmt::format("평균 {:.3f} (p90 {:.3f})", mean(v.rtf), quantile(v.rtf, 0.9)),
                    v.rtf.empty() ? kNaN : mean(v.rtf), v.rtf.empty() ? kNA : kInfo, "웜업 제외"});
}

/// The voice section of one character (cj["voice"] and its rows); adds its speaker trials.
void add_voice_section(const Context& ctx, const std::string& id, const std::vector<const json*>& vr, json& cj,
                       Accumulated& acc) {
    const VoiceStats v = gather_voice(ctx, id, vr, acc.trials);
    const ErrorRateSummary er = summarize(v.asr);
    cj["voice"] = voice_json(v, er);
    add_scorer_rows(ctx, id, v, er, acc.rows);
    add_synthesis_rows(ctx, id, v, acc.rows);
}

/// VRAM over every case of this character (text and voice), where nvidia-smi was available.
void add_vram_row(const JournalContents& journal, const std::string& id, std::vector<Row>& rows) {
    std::vector<double> gpu_all;
    for (const auto& r : journal.rows)
        if (r.value("character", "") == id && r.contains("gpu_mib")) gpu_all.push_back(r["gpu_mib"]);
    double g = gpu_all.empty() ? 0 : max_of(gpu_all);
    if (g > 0)
        rows.push_back({id, "메모리", "VRAM 최대 (nvidia-smi, 이 프로세스)", "≤ 8 GB", fmt::format("{:.2f} GB", g / 1024), g / 1024,
                        g / 1024 <= 8 ? kPass : kFail, "nvidia-smi used_memory, 각 생성/합성 호출 직후 표본 (호출 중 순간 최대는 놓칠 수 있음)"});
    else
        rows.push_back({id, "메모리", "VRAM 최대", "≤ 8 GB", "n/a", kNaN, kNA,
                        gpu_all.empty() ? "nvidia-smi 없음 (GPU 없는 실행)" : "이 프로세스의 GPU 사용 없음 (CPU 백엔드)"});
}

/// One character's results["characters"][id]: backends, loads and warm-ups, text and voice sections.
json character_results(const Context& ctx, const Character& c, const std::vector<const json*>* voice_rows,
                       Accumulated& acc) {
    json cj;
    cj["name"] = c.name;
    cj["text_backend"] = c.text_backend;
    cj["speech_backend"] = c.speech_backend;
    cj["declared_speech_level"] = to_string(c.speech_level);
    for (const auto& e : ctx.events.loads)
        if (e.value("character", "") == c.id) cj["load"][e.value("role", "")] = e;
    for (const auto& e : ctx.events.warmups)
        if (e.value("character", "") == c.id) cj["warmup"][e.value("role", "")] = e;
    add_text_section(ctx, c, cj, acc);
    if (voice_rows && !voice_rows->empty()) add_voice_section(ctx, c.id, *voice_rows, cj, acc);
    add_vram_row(ctx.journal, c.id, acc.rows);
    return cj;
}

// ---------------------------------------------------------------- across characters

/// Persona distinctiveness: a character classifier over the generated lines, cross-validated by situation.
void add_distinctiveness(const std::vector<LabelledLine>& labelled, json& global, std::vector<Row>& rows) {
    if (labelled.empty()) return;
    DistinctivenessResult d = cross_validate(labelled, 5);
    global["distinctiveness"] = {{"ok", d.ok}, {"reason", d.reason}, {"n", d.n}, {"folds", d.folds}, {"labels", d.labels},
                                 {"confusion", d.confusion}, {"accuracy", d.accuracy}, {"macro_f1", d.macro_f1},
                                 {"chance", d.chance}, {"majority", d.majority}, {"chance_corrected", d.chance_corrected}};
    rows.push_back({"전체", "페르소나 구별도", "문자 n-gram 분류 정확도 (상황별 fold)", "우연 수준보다 높음",
                    d.ok ? fmt::format("{} (우연 {}, 보정 지수 {:.2f}, macro-F1 {:.2f}; {} fold, n={})", pct(d.accuracy),
                                       pct(d.chance), d.chance_corrected, d.macro_f1, d.folds, d.n)
                         : "n/a",
                    d.ok ? d.accuracy : kNaN, d.ok ? (d.accuracy > d.chance ? kPass : kFail) : kNA,
                    d.ok ? "multinomial NB, 문자 1–3-gram (NFC), Laplace α=1; fold는 상황 단위로 나눔" : d.reason});
}

/// The reference ceiling: the same distinctiveness and speech-level measures on the human-written persona data.
void add_reference(const Suite& suite, const std::set<std::string>& involved, json& global, std::vector<Row>& rows) {
    std::string ref_path = !suite.persona_dataset.empty() && fs::exists(suite.persona_dataset) ? suite.persona_dataset
                           : (!suite.copy_training.empty() && fs::exists(suite.copy_training) ? suite.copy_training : "");
    if (ref_path.empty() || !suite.text) return;
    std::vector<LabelledLine> ref;
    std::ifstream in(ref_path);
    std::string line;
    while (std::getline(in, line)) {
        try {
            json j = json::parse(line);
            if (involved.count(j.value("character", "")))
                ref.push_back({j.value("character", ""), j.value("situation_id", j.value("input", "")), j.value("output", "")});
        } catch (const std::exception&) {
        }
    }
    DistinctivenessResult d = cross_validate(ref, 5);
    std::map<std::string, std::vector<std::string>> ref_lines;
    for (const auto& l : ref) ref_lines[l.label].push_back(l.text);
    std::map<std::string, LevelCounts> ref_levels;
    json ref_level_json = json::object();
    for (const auto& [id, ls] : ref_lines) {
        ref_levels[id] = count_levels(ls);
        ref_level_json[id] = level_counts_json(ref_levels[id]);
    }
    global["speech_levels_reference"] = ref_level_json;
    if (ref_levels.size() >= 2) {
        LevelDivergence rdiv = level_divergence(ref_levels);
        global["speech_level_divergence_reference"] = std::isfinite(rdiv.mean_pairwise) ? json(rdiv.mean_pairwise) : json(nullptr);
        rows.push_back({"전체", "말투 구별도", "같은 측정, 사람이 쓴 데이터 (참고)", "—", num(rdiv.mean_pairwise, 3), rdiv.mean_pairwise,
                        std::isfinite(rdiv.mean_pairwise) ? kInfo : kNA, "데이터: " + ref_path});
    }
    global["distinctiveness_reference"] = {{"source", ref_path}, {"ok", d.ok}, {"accuracy", d.accuracy}, {"chance", d.chance},
                                           {"n", d.n}, {"reason", d.reason}};
    rows.push_back({"전체", "페르소나 구별도", "같은 분류기, 사람이 쓴 데이터 (상한 참고)", "—",
                    d.ok ? fmt::format("{} (우연 {}, n={})", pct(d.accuracy), pct(d.chance), d.n) : "n/a",
                    d.ok ? d.accuracy : kNaN, d.ok ? kInfo : kNA, "데이터: " + ref_path});
}

/// Speech-level distributions per character and how far apart they are (Jensen–Shannon).
void add_speech_levels(const std::map<std::string, LevelCounts>& level_counts, json& global, std::vector<Row>& rows) {
    if (level_counts.size() >= 2) {
        LevelDivergence div = level_divergence(level_counts);
        json pairs = json::array();
        for (const auto& [k, v] : div.pairwise) pairs.push_back({{"a", k.first}, {"b", k.second}, {"js", v}});
        global["speech_level_divergence"] = {{"mean_pairwise_js", std::isfinite(div.mean_pairwise) ? json(div.mean_pairwise) : json(nullptr)},
                                             {"pairs", pairs}};
        rows.push_back({"전체", "말투 구별도", "화계 분포 Jensen–Shannon (평균 쌍별, log2)", "클수록 구별됨 (0–1)",
                        num(div.mean_pairwise, 3), div.mean_pairwise, std::isfinite(div.mean_pairwise) ? kInfo : kNA,
                        "하십시오체/해요체/반말 분포 사이; 불명 문장 제외"});
    }
    json level_json = json::object();
    for (const auto& [id, lc] : level_counts) level_json[id] = level_counts_json(lc);
    global["speech_levels"] = level_json;
}

/// Speaker confusion: each synthesized utterance identified by its nearest enrolment centroid.
void add_speaker_confusion(const Context& ctx, const std::vector<Trial>& trials, json& global, std::vector<Row>& rows) {
    const auto& centroids = ctx.enrollment.centroids;
    auto not_measured = [&](const std::string& why) {
        rows.push_back({"전체", "화자 혼동률", "최근접 centroid 식별 오류", "≤ 3%", "n/a", kNaN, kNA, why});
    };
    if (!ctx.scorers.have_spk) return not_measured("speaker encoder 없음: " + ctx.scorers.reason("speaker_encoder"));
    if (centroids.size() < 2) return not_measured("등록된 캐릭터 음성이 2개 미만 (voice.enrollment 또는 참조 음성 필요)");
    ConfusionResult cr = speaker_confusion(centroids, trials);
    if (cr.n == 0) return not_measured("등록은 되었지만 식별할 시험 발화(임베딩이 있는 합성 음성)가 없음");
    global["speaker_confusion"] = {{"speakers", cr.speakers}, {"matrix", cr.matrix}, {"n", cr.n}, {"confused", cr.confused},
                                   {"skipped", cr.skipped}, {"rate", cr.confusion_rate},
                                   {"margin_mean", cr.margins.empty() ? json(nullptr) : json(mean(cr.margins))}};
    bool self_enrolled = ctx.enrollment.reference_centroids.size() < centroids.size();
    rows.push_back({"전체", "화자 혼동률", "최근접 centroid 식별 오류", "≤ 3%",
                    fmt::format("{} ({}/{}, 평균 margin {})", pct(cr.confusion_rate, 2), cr.confused, cr.n,
                                cr.margins.empty() ? "n/a" : num(mean(cr.margins), 3)),
                    cr.confusion_rate, cr.n ? (cr.confusion_rate <= 0.03 ? kPass : kFail) : kNA,
                    "proxy: " + ctx.scorers.spk_method +
                        (self_enrolled ? "; 일부 캐릭터는 참조 음성이 없어 같은 음성으로 합성한 등록 문장으로 등록 (자기 일관성 검사, 사람 목소리와의 동일성 아님)" : "")});
}

}  // namespace

json build_results(const Suite& suite, const Host& host, const std::string& out_dir) {
    const JournalContents journal = read_journal((fs::path(out_dir) / "cases.jsonl").string());
    const Events events = sort_events(journal);
    json results;
    add_provenance(suite, host, journal, events, results);
    const Scorers scorers = read_scorers(results["scorers"]);
    const Enrollment enrollment = enroll(journal);
    const Calibration calibration = load_calibration(suite);
    const Context ctx{suite, journal, events, scorers, enrollment, calibration};

    std::set<std::string> involved;
    std::map<std::string, std::vector<const json*>> voice_rows;
    for (const auto& r : journal.rows) {
        involved.insert(r.value("character", ""));
        if (is_voice_row(r)) voice_rows[r.value("character", "")].push_back(&r);
    }
    Accumulated acc;
    json characters = json::object();
    for (const Character& c : host.characters()) {
        if (!involved.count(c.id)) continue;
        auto v = voice_rows.find(c.id);
        characters[c.id] = character_results(ctx, c, v == voice_rows.end() ? nullptr : &v->second, acc);
    }

    json global;
    add_distinctiveness(acc.labelled, global, acc.rows);
    add_reference(suite, involved, global, acc.rows);
    add_speech_levels(acc.level_counts, global, acc.rows);
    if (!voice_rows.empty()) add_speaker_confusion(ctx, acc.trials, global, acc.rows);

    results["characters"] = characters;
    results["global"] = global;
    json rows_json = json::array();
    for (const auto& r : acc.rows) rows_json.push_back(row_json(r));
    results["report_rows"] = rows_json;
    // per-case rows (embeddings kept: they are the evidence for similarity/confusion)
    results["cases"] = journal.rows;
    results["plots"] = {{"lengths", acc.lengths}, {"latencies", acc.latencies}};
    return results;
}

}  // namespace troupe::eval
