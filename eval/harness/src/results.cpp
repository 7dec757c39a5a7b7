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

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
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

}  // namespace

json build_results(const Suite& suite, const Host& host, const std::string& out_dir) {
    JournalContents journal = read_journal((fs::path(out_dir) / "cases.jsonl").string());
    json results;
    results["suite"] = suite.to_json();
    results["suite_path"] = suite.path;
    results["config_hash"] = journal.header.value("config_hash", "");
    results["current_config_hash"] = config_hash(suite, host);
    results["generated"] = utc_now();
    json last_run;
    std::vector<json> loads, warmups;
    for (const auto& e : journal.events) {
        std::string ev = e.value("event", "");
        if (ev == "run") last_run = e;
        else if (ev == "load") loads.push_back(e);
        else if (ev == "warmup") warmups.push_back(e);
    }
    results["git_revision"] = last_run.value("git_revision", git_revision(source_dir()));
    results["scorers"] = last_run.contains("scorers") ? last_run["scorers"] : json::object();
    json plugins = json::array();
    for (const auto& p : host.plugins())
        plugins.push_back({{"name", p.manifest.name}, {"kind", to_string(p.manifest.kind)}, {"version", p.manifest.version},
                           {"ok", p.ok}, {"message", p.message}});
    results["plugins"] = plugins;
    results["runs"] = json::array();
    for (const auto& e : journal.events)
        if (e.value("event", "") == "run" || e.value("event", "") == "run_end") results["runs"].push_back(e);
    results["load_events"] = loads;
    results["warmup_events"] = warmups;

    // which scorers existed in the (latest) run
    const json& sc = results["scorers"];
    auto scorer_ok = [&](const char* key) { return sc.contains(key) && sc[key].value("available", false); };
    auto scorer_reason = [&](const char* key) -> std::string {
        if (!sc.contains(key)) return "scorer not recorded";
        return sc[key].value("reason", "");
    };
    bool have_asr = scorer_ok("transcriber"), have_spk = scorer_ok("speaker_encoder");
    std::string mos_plugin, mos_describe, mos_reason = "no quality-estimator plugin is loaded", failure_detector;
    if (sc.contains("quality"))
        for (const auto& q : sc["quality"]) {
            if (!q.value("available", false)) { mos_reason = q.value("reason", mos_reason); continue; }
            bool is_mos = false;
            for (const auto& cap : q.value("capabilities", json::array()))
                if (cap.get<std::string>().find("mos") != std::string::npos) is_mos = true;
            if (is_mos && mos_plugin.empty()) {
                mos_plugin = q.value("plugin", "");
                mos_describe = q.value("describe", "");
            }
            if (!is_mos) {
                failure_detector = q.value("plugin", "");
                mos_reason = "no MOS-predicting quality estimator is loaded ('" + failure_detector +
                             "' is a signal failure detector, not a MOS)";
            }
        }

    // seeds
    json seeds = json::object();
    for (const auto& r : journal.rows)
        if (r.value("type", "") == "text") seeds[r.value("id", "")] = r.value("seed", 0);
    results["seeds"] = {{"suite_seed", suite.seed}, {"per_case", seeds}, {"classifier", "deterministic (no sampling)"},
                        {"speaker_projection", "plugin parameter projection.seed"}};

    // ---------------------------------------------------------------- per character
    std::vector<Row> rows;
    json characters = json::object();
    std::map<std::string, LevelCounts> level_counts;
    std::vector<LabelledLine> labelled;
    std::map<std::string, std::vector<Embedding>> enroll_all, enroll_reference;
    std::vector<Trial> trials;
    std::map<std::string, std::vector<const json*>> voice_rows_by_char;

    std::set<std::string> involved;
    for (const auto& r : journal.rows) involved.insert(r.value("character", ""));
    for (const auto& r : journal.rows) {
        if (r.value("type", "") == "enroll" && ok(r) && r.contains("embedding")) {
            Embedding e = r["embedding"].get<Embedding>();
            enroll_all[r["character"]].push_back(e);
            if (r.value("source", "") == "reference") enroll_reference[r["character"]].push_back(e);
        }
        if (is_voice_row(r)) voice_rows_by_char[r.value("character", "")].push_back(&r);
    }
    std::map<std::string, Embedding> centroids, reference_centroids;
    for (const auto& [c, es] : enroll_all) centroids[c] = centroid(es);
    for (const auto& [c, es] : enroll_reference) reference_centroids[c] = centroid(es);

    std::unique_ptr<SimilarityCalibration> calibration;
    std::string calibration_reason = "no similarity calibration file configured (scorers.similarity_calibration); "
                                     "cosine has no public mapping to a 1–5 scale";
    if (!suite.similarity_calibration.empty()) {
        try {
            calibration = std::make_unique<SimilarityCalibration>(SimilarityCalibration::load(suite.similarity_calibration));
        } catch (const std::exception& e) {
            calibration_reason = e.what();
        }
    }

    json all_latencies = json::object(), all_lengths = json::object();
    for (const Character& c : host.characters()) {
        if (!involved.count(c.id)) continue;
        const std::string scope = c.id;
        json cj;
        cj["name"] = c.name;
        cj["text_backend"] = c.text_backend;
        cj["speech_backend"] = c.speech_backend;
        cj["declared_speech_level"] = to_string(c.speech_level);
        for (const auto& e : loads)
            if (e.value("character", "") == c.id) cj["load"][e.value("role", "")] = e;
        for (const auto& e : warmups)
            if (e.value("character", "") == c.id) cj["warmup"][e.value("role", "")] = e;

        // ---- text
        std::vector<const json*> text_rows;
        for (const auto& r : journal.rows)
            if (r.value("character", "") == c.id && r.value("type", "") == "text") text_rows.push_back(&r);
        if (!text_rows.empty()) {
            size_t n = text_rows.size(), n_ok = 0, strict = 0, loose = 0;
            std::vector<double> latency, e2e, lengths, lengths_nospace;
            std::vector<std::string> lines;
            std::map<std::string, size_t> stop_counts;
            for (const json* r : text_rows) {
                if (!ok(*r)) continue;
                ++n_ok;
                strict += (*r)["format"].value("strict", false);
                loose += (*r)["format"].value("loose", false);
                stop_counts[r->value("stop", "")]++;
                double lat = r->value("latency_s", 0.0);
                latency.push_back(lat);
                const json* speech = nullptr;
                for (const auto& x : journal.rows)
                    if (x.value("id", "") == r->value("id", "") + "/speech") speech = &x;
                e2e.push_back(lat + (speech ? speech->value("synth_s", 0.0) : 0.0));
                lengths.push_back(double((*r)["length"].value("with_spaces", 0)));
                lengths_nospace.push_back(double((*r)["length"].value("without_spaces", 0)));
                std::string line = r->value("line", "");
                lines.push_back(line);
                labelled.push_back({c.id, r->value("group", ""), line});
            }
            LatencyStats lat = latency_stats(latency, suite.latency_limit_s);
            LatencyStats lat_e2e = latency_stats(e2e, suite.latency_limit_s);
            LengthStats len = length_stats(lengths, c.min_line_chars, c.max_line_chars);
            LengthStats len_ns = length_stats(lengths_nospace, c.min_line_chars, c.max_line_chars);
            LevelCounts levels = count_levels(lines);
            level_counts[c.id] = levels;
            auto shares = levels.definite_shares();
            cj["text"] = {{"cases", n}, {"ok", n_ok}, {"failed", n - n_ok},
                          {"format_strict", n ? double(strict) / n : kNaN}, {"format_loose", n ? double(loose) / n : kNaN},
                          {"stop_reasons", stop_counts},
                          {"latency_text", latency_json(lat)}, {"latency_scenario", latency_json(lat_e2e)},
                          {"latency_values", e2e},
                          {"length", {{"n", len.n}, {"mean", len.mean}, {"q1", len.q1}, {"q3", len.q3}, {"iqr", len.iqr},
                                      {"min", len.min}, {"max", len.max}, {"share_in_range", len.share_in_range},
                                      {"range", {len.lo, len.hi}}, {"mean_without_spaces", len_ns.mean},
                                      {"values", lengths}}},
                          {"speech_levels", {{"hasipsio", levels.sentences[0]}, {"haeyo", levels.sentences[1]},
                                             {"banmal", levels.sentences[2]}, {"ambiguous", levels.sentences[3]},
                                             {"dominant", level_key(levels.dominant())}}}};
            all_latencies[c.id] = e2e;
            all_lengths[c.id] = lengths;
            double strict_rate = n ? double(strict) / n : kNaN, loose_rate = n ? double(loose) / n : kNaN;
            std::string first_error;
            for (const json* r : text_rows)
                if (!ok(*r) && first_error.empty()) first_error = r->value("error", "");
            if (n_ok == 0) {
                rows.push_back({scope, "텍스트", "생성된 대사", "—", fmt::format("n/a (텍스트 케이스 {}개 모두 실패)", n), kNaN, kNA,
                                "텍스트 지표를 계산할 대사가 없음: " + first_error});
            }
            if (n_ok > 0)
            rows.push_back({scope, "형식 일관성", "### 구조 유지 + EOS 종료 (strict)", "≥ 90%",
                            fmt::format("{} (loose {}; {}/{} 케이스)", pct(strict_rate), pct(loose_rate), strict, n),
                            strict_rate, strict_rate >= 0.9 ? kPass : kFail,
                            "strict: 원문 그대로, EOS 종료만 인정; loose: 머리말/마크다운/화자 태그 제거, ### 정지 문자열도 인정. 실패한 생성은 불합격으로 셈"});
            bool speak = suite.speak_lines;
            rows.push_back({scope, "응답 지연", speak ? "시나리오당 최대 (텍스트+음성)" : "시나리오당 최대 (텍스트 생성)",
                            fmt::format("≤ {:.0f} s", suite.latency_limit_s),
                            lat_e2e.n ? fmt::format("최대 {:.2f} s (p50 {:.2f}, p90 {:.2f}; n={})", lat_e2e.max, lat_e2e.p50, lat_e2e.p90, lat_e2e.n) : "n/a",
                            lat_e2e.n ? lat_e2e.max : kNaN,
                            lat_e2e.n ? (lat_e2e.max <= suite.latency_limit_s ? kPass : kFail) : kNA,
                            "웜업 호출과 모델 로드는 제외 (아래 '로드/웜업' 행)"});
            std::string load_text;
            for (const char* role : {"text", "speech"})
                if (cj.contains("load") && cj["load"].contains(role))
                    load_text += fmt::format("{} 로드 {:.2f} s ", role, cj["load"][role].value("seconds", 0.0));
            for (const char* role : {"text", "speech"})
                if (cj.contains("warmup") && cj["warmup"].contains(role))
                    load_text += fmt::format("{} 웜업 {:.2f} s ", role, cj["warmup"][role].value("seconds", 0.0));
            rows.push_back({scope, "응답 지연", "모델 로드 / 첫 호출 웜업", "—", load_text.empty() ? "n/a (이번 실행에서 로드 없음)" : load_text,
                            kNaN, kInfo, "로드는 이 캐릭터가 처음 쓴 백엔드에만 기록됨 (백엔드 공유 시 한 번)"});
            rows.push_back({scope, "답변 길이", "평균 길이 (NFC 코드포인트, 공백 포함)",
                            fmt::format("{}–{}자", c.min_line_chars, c.max_line_chars),
                            len.n ? fmt::format("평균 {:.1f}자 (IQR {:.1f}–{:.1f}, 범위 안 {}; 공백 제외 평균 {:.1f})", len.mean, len.q1,
                                                len.q3, pct(len.share_in_range), len_ns.mean)
                                  : "n/a",
                            len.n ? len.mean : kNaN,
                            len.n ? (len.mean >= c.min_line_chars && len.mean <= c.max_line_chars ? kPass : kFail) : kNA,
                            "NFC 후 코드포인트 (NFD 아님); ### 머리말과 화자 태그 제거 후"});
            if (n_ok > 0)
            rows.push_back({scope, "말투", "문장 종결 화계 분포", "선언: " + level_ko(c.speech_level),
                            fmt::format("하십시오체 {} / 해요체 {} / 반말 {} (불명 {} 문장)", pct(shares[0], 0), pct(shares[1], 0),
                                        pct(shares[2], 0), levels.sentences[3]),
                            kNaN, kInfo, "종결 어미 규칙 (모델 없음); 불명 문장은 분포에서 제외"});
            // copy rate
            if (n_ok == 0) {
                // nothing to compare
            } else if (!suite.copy_training.empty() && fs::exists(suite.copy_training)) {
                bool per_char = false;
                auto training = load_training_lines(suite.copy_training, c.id, per_char);
                CopyIndex index(training);
                CopyRate cr = copy_rate(index, lines, suite.copy_threshold);
                cj["copy"] = {{"n", cr.n}, {"exact", cr.exact}, {"near", cr.near}, {"exact_rate", cr.exact_rate},
                              {"near_rate", cr.near_rate}, {"threshold", cr.threshold}, {"training_lines", training.size()},
                              {"per_character", per_char}};
                rows.push_back({scope, "복제율", "학습 문장 재현 (정확 / 근접)", "낮을수록 좋음",
                                fmt::format("정확 {} / 근접 {} (학습 {}문장 대비)", pct(cr.exact_rate), pct(cr.near_rate), training.size()),
                                cr.near_rate, kInfo,
                                fmt::format("근접 = 문자 3-gram Jaccard ≥ {:.2f}; {}", cr.threshold,
                                            per_char ? "같은 캐릭터의 학습 문장과 비교" : "전체 학습 문장과 비교")});
            } else {
                rows.push_back({scope, "복제율", "학습 문장 재현 (정확 / 근접)", "낮을수록 좋음", "n/a", kNaN, kNA,
                                suite.copy_training.empty() ? "suite에 copy.training 없음" : "학습 데이터 없음: " + suite.copy_training});
            }
        }

        // ---- voice
        auto vit = voice_rows_by_char.find(c.id);
        if (vit != voice_rows_by_char.end() && !vit->second.empty()) {
            const auto& vr = vit->second;
            std::vector<double> sps;
            for (const json* r : vr) {
                double a = r->value("audio_s", 0.0);
                size_t syl = r->value("syllables", size_t(0));
                sps.push_back(r->value("synthesized", false) && syl > 0 && r->value("kind", "") != "long" ? a / double(syl) : 0);
            }
            // the voice's rate from short utterances; long ones are judged against it too
            std::vector<double> all_sps;
            for (const json* r : vr) {
                double a = r->value("audio_s", 0.0);
                size_t syl = r->value("syllables", size_t(0));
                all_sps.push_back(r->value("synthesized", false) && syl > 0 ? a / double(syl) : 0);
            }
            std::vector<double> valid;
            for (double v : sps)
                if (v > 0) valid.push_back(v);
            double median_sps = valid.size() >= 3 ? median(valid) : kNaN;
            size_t n = 0, synthesized = 0, success = 0, flagged = 0, long_n = 0, long_ok = 0, skipped = 0;
            std::map<std::string, size_t> flag_counts;
            std::vector<UtteranceErrors> asr;
            std::vector<double> rtf, rss, gpu, sim_centroid, sim_reference, mos;
            std::string mos_method;  // the estimate's own label, e.g. "predicted MOS (UTMOS22)"
            for (size_t i = 0; i < vr.size(); ++i) {
                const json& r = *vr[i];
                if (r.value("status", "") == "skipped") { ++skipped; continue; }
                ++n;
                bool synth = r.value("synthesized", false) || (r.value("status", "") == "ok" && r.contains("signal"));
                if (!synth) {
                    bool is_long = r.value("kind", "") == "long";
                    long_n += is_long;
                    continue;
                }
                ++synthesized;
                std::vector<std::string> flags;
                if (r.contains("signal")) flags = r["signal"].value("flags", std::vector<std::string>{});
                if (std::isfinite(median_sps) && all_sps[i] > 0 &&
                    (all_sps[i] < 0.5 * median_sps || all_sps[i] > 2.0 * median_sps))
                    flags.push_back("duration_outlier");
                for (const auto& f : flags) flag_counts[f]++;
                if (!flags.empty()) ++flagged;
                double cer = kNaN;
                if (r.contains("asr")) {
                    UtteranceErrors u;
                    const json& a = r["asr"];
                    auto counts = [](const json& j) {
                        EditCounts e;
                        e.ref = j.value("ref", size_t(0)); e.hyp = j.value("hyp", size_t(0)); e.hits = j.value("hits", size_t(0));
                        e.sub = j.value("sub", size_t(0)); e.del = j.value("del", size_t(0)); e.ins = j.value("ins", size_t(0));
                        return e;
                    };
                    u.chars = counts(a["chars"]);
                    u.words = counts(a["words"]);
                    asr.push_back(u);
                    cer = u.cer();
                }
                bool good = flags.empty() && r.value("status", "") == "ok" && !(std::isfinite(cer) && cer > 0.5);
                success += good;
                if (r.value("kind", "") == "long") {
                    ++long_n;
                    bool pause_only = true;
                    for (const auto& f : flags) pause_only &= (f == "long_pause");
                    long_ok += pause_only && r.value("status", "") == "ok" && !(std::isfinite(cer) && cer > 0.1) &&
                               r.value("audio_s", 0.0) >= 0.8 * suite.long_form_min_s;
                }
                if (r.contains("rtf") && r["rtf"].get<double>() >= 0) rtf.push_back(r["rtf"]);
                if (r.contains("peak_rss_mib")) rss.push_back(r["peak_rss_mib"]);
                if (r.contains("gpu_mib")) gpu.push_back(r["gpu_mib"]);
                if (r.contains("embedding")) {
                    Embedding e = r["embedding"].get<Embedding>();
                    if (centroids.count(c.id)) sim_centroid.push_back(cosine(e, centroids[c.id]));
                    if (reference_centroids.count(c.id)) sim_reference.push_back(cosine(e, reference_centroids[c.id]));
                    trials.push_back({c.id, e});
                }
                if (!mos_plugin.empty() && r.contains("quality") && r["quality"].contains(mos_plugin)) {
                    mos.push_back(r["quality"][mos_plugin].value("score", 0.0));
                    if (mos_method.empty()) mos_method = r["quality"][mos_plugin].value("method", "");
                }
            }
            ErrorRateSummary er = summarize(asr);
            cj["voice"] = {{"utterances", n}, {"skipped", skipped}, {"synthesized", synthesized}, {"success", success},
                           {"flagged", flagged}, {"flags", flag_counts}, {"seconds_per_syllable_median", median_sps},
                           {"long_form", {{"n", long_n}, {"ok", long_ok}}},
                           {"rtf", {{"mean", mean(rtf)}, {"p90", quantile(rtf, 0.9)}, {"n", rtf.size()}}},
                           {"peak_rss_mib", rss.empty() ? json(nullptr) : json(*std::max_element(rss.begin(), rss.end()))},
                           {"gpu_mib", gpu.empty() ? json(nullptr) : json(*std::max_element(gpu.begin(), gpu.end()))},
                           {"asr", {{"n", er.n}, {"cer_micro", er.cer_micro}, {"cer_macro", er.cer_macro},
                                    {"wer_micro", er.wer_micro}, {"wer_macro", er.wer_macro},
                                    {"share_cer_above_half", er.share_cer_above_half}}},
                           {"similarity", {{"to_centroid_mean", sim_centroid.empty() ? json(nullptr) : json(mean(sim_centroid))},
                                           {"to_reference_mean", sim_reference.empty() ? json(nullptr) : json(mean(sim_reference))}}}};
            double success_rate = n ? double(success) / n : kNaN;
            double glitch_rate = synthesized ? double(flagged) / synthesized : kNaN;
            std::string spk_method = have_spk ? results["scorers"]["speaker_encoder"].value("describe", "") : "";
            std::string asr_method = have_asr ? results["scorers"]["transcriber"].value("describe", "") : "";

            // MOS proxy
            if (!mos.empty()) {
                const Interval ci = bootstrap_mean(mos);
                const std::string label = mos_method.empty() ? "MOS (proxy: " + mos_plugin + ")" : mos_method;
                rows.push_back({scope, "음성 품질", label, "≥ 4.0",
                                fmt::format("{} [95% {}–{}] (n={})", num(mean(mos)), num(ci.low), num(ci.high), mos.size()), mean(mos),
                                mean(mos) >= 4.0 ? kPass : kFail,
                                "예측 MOS (proxy), 사람 평가 아님: " + mos_describe + "; 구간은 발화 부트스트랩"});
            }
            else
                rows.push_back({scope, "음성 품질", "MOS (proxy)", "≥ 4.0", "n/a", kNaN, kNA, mos_reason});
            // MOS-S
            if (calibration && !sim_centroid.empty()) {
                double smos = calibration->map(mean(sim_centroid));
                rows.push_back({scope, "화자 유사도", "MOS-S (proxy, 보정 파일)", "≥ 4.2", num(smos), smos, smos >= 4.2 ? kPass : kFail,
                                "코사인 → MOS-S: " + calibration->method()});
            } else {
                rows.push_back({scope, "화자 유사도", "MOS-S (proxy)", "≥ 4.2", "n/a", kNaN, kNA,
                                !have_spk ? "speaker encoder 없음: " + scorer_reason("speaker_encoder") : calibration_reason});
            }
            rows.push_back({scope, "화자 유사도", "코사인 (등록 centroid / 참조 음성)", "—",
                            sim_centroid.empty() ? "n/a"
                                                 : fmt::format("centroid {} / 참조 {}", num(mean(sim_centroid), 3),
                                                               sim_reference.empty() ? "n/a (참조 음성 없음)" : num(mean(sim_reference), 3)),
                            sim_centroid.empty() ? kNaN : mean(sim_centroid), sim_centroid.empty() ? kNA : kInfo,
                            have_spk ? "proxy: " + spk_method + "; centroid는 등록 발화에서" : "speaker encoder 없음: " + scorer_reason("speaker_encoder")});
            // WER/CER
            if (er.n) {
                rows.push_back({scope, "발음 정확도", "CER (음절, 공백 제거, micro)", "≤ 5%",
                                fmt::format("{} (macro {}, CER>0.5 비율 {}; n={})", pct(er.cer_micro, 2), pct(er.cer_macro, 2),
                                            pct(er.share_cer_above_half), er.n),
                                er.cer_micro, er.cer_micro <= 0.05 ? kPass : kFail, "ASR: " + asr_method + "; 정규화: NFC, 괄호 제거, 숫자 읽기 통일, 문장부호 제거"});
                rows.push_back({scope, "발음 정확도", "WER (어절, micro)", "≤ 10%",
                                fmt::format("{} (macro {})", pct(er.wer_micro, 2), pct(er.wer_macro, 2)), er.wer_micro,
                                er.wer_micro <= 0.10 ? kPass : kFail, "어절 WER은 띄어쓰기 차이에 민감 (보조 지표)"});
            } else {
                std::string why = have_asr ? "전사 결과 없음 (모든 케이스 실패)" : "transcriber 없음: " + scorer_reason("transcriber");
                rows.push_back({scope, "발음 정확도", "CER (음절, 공백 제거)", "≤ 5%", "n/a", kNaN, kNA, why});
                rows.push_back({scope, "발음 정확도", "WER (어절)", "≤ 10%", "n/a", kNaN, kNA, why});
            }
            rows.push_back({scope, "메모리", "최대 RSS (프로세스)", "—",
                            rss.empty() ? "n/a" : fmt::format("{:.0f} MiB", *std::max_element(rss.begin(), rss.end())),
                            rss.empty() ? kNaN : *std::max_element(rss.begin(), rss.end()), rss.empty() ? kNA : kInfo,
                            "VmHWM, 케이스마다 /proc/self/clear_refs로 초기화"});
            rows.push_back({scope, "합성 성공률", "예외 없음 + 신호 검사 통과 + CER ≤ 0.5", "≥ 99%",
                            fmt::format("{} ({}/{}; 합성 {})", pct(success_rate), success, n, synthesized), success_rate,
                            std::isfinite(success_rate) ? (success_rate >= 0.99 ? kPass : kFail) : kNA,
                            fmt::format("95% Wilson 구간 {}–{}{}", pct(wilson(success, n).low), pct(wilson(success, n).high),
                                        have_asr ? "" : "; transcriber 없어 CER 조건은 빠짐")});
            std::string flag_text;
            for (const auto& [f, k] : flag_counts) flag_text += fmt::format("{} {}, ", f, k);
            rows.push_back({scope, "무음/글리치", "신호 검사 플래그 발화 비율", "≤ 0.5%",
                            fmt::format("{} ({}/{})", pct(glitch_rate, 2), flagged, synthesized), glitch_rate,
                            std::isfinite(glitch_rate) ? (glitch_rate <= 0.005 ? kPass : kFail) : kNA,
                            "단위: 발화. 에너지 VAD; 앞뒤 무음 > 1 s, 내부 휴지 > 1.5 s, 클리핑, NaN/DC, 급격한 끝, 음절당 길이 이상치" +
                                (flag_text.empty() ? std::string() : "; " + flag_text.substr(0, flag_text.size() - 2))});
            if (long_n)
                rows.push_back({scope, "장문 합성", fmt::format("≥ {:.0f} s 텍스트 성공률", suite.long_form_min_s), "≥ 95%",
                                fmt::format("{} ({}/{})", pct(double(long_ok) / long_n), long_ok, long_n), double(long_ok) / long_n,
                                double(long_ok) / long_n >= 0.95 ? kPass : kFail,
                                "성공: 합성됨, 휴지 외 플래그 없음, 길이 ≥ 0.8×기준, CER ≤ 0.1 (transcriber 있을 때)"});
            else
                rows.push_back({scope, "장문 합성", "≥ 30 s 텍스트 성공률", "≥ 95%", "n/a", kNaN, kNA, "이 suite에 장문(kind = \"long\") 문장 없음"});
            rows.push_back({scope, "합성 속도", "RTF (합성 시간 / 음성 길이)", "—",
                            rtf.empty() ? "n/a" : fmt::format("평균 {:.3f} (p90 {:.3f})", mean(rtf), quantile(rtf, 0.9)),
                            rtf.empty() ? kNaN : mean(rtf), rtf.empty() ? kNA : kInfo, "웜업 제외"});
        }
        // VRAM over every case of this character (text and voice), where nvidia-smi was available
        {
            std::vector<double> gpu_all;
            for (const auto& r : journal.rows)
                if (r.value("character", "") == c.id && r.contains("gpu_mib")) gpu_all.push_back(r["gpu_mib"]);
            double g = gpu_all.empty() ? 0 : *std::max_element(gpu_all.begin(), gpu_all.end());
            if (g > 0)
                rows.push_back({scope, "메모리", "VRAM 최대 (nvidia-smi, 이 프로세스)", "≤ 8 GB", fmt::format("{:.2f} GB", g / 1024), g / 1024,
                                g / 1024 <= 8 ? kPass : kFail, "nvidia-smi used_memory, 각 생성/합성 호출 직후 표본 (호출 중 순간 최대는 놓칠 수 있음)"});
            else
                rows.push_back({scope, "메모리", "VRAM 최대", "≤ 8 GB", "n/a", kNaN, kNA,
                                gpu_all.empty() ? "nvidia-smi 없음 (GPU 없는 실행)" : "이 프로세스의 GPU 사용 없음 (CPU 백엔드)"});
        }
        characters[c.id] = cj;
    }

    // ---------------------------------------------------------------- across characters
    json global;
    if (!labelled.empty()) {
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
    // reference ceiling from the persona data (human-written lines)
    std::string ref_path = !suite.persona_dataset.empty() && fs::exists(suite.persona_dataset) ? suite.persona_dataset
                           : (!suite.copy_training.empty() && fs::exists(suite.copy_training) ? suite.copy_training : "");
    if (!ref_path.empty() && suite.text) {
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
            const auto& lc = ref_levels[id];
            ref_level_json[id] = {{"hasipsio", lc.sentences[0]}, {"haeyo", lc.sentences[1]}, {"banmal", lc.sentences[2]}, {"ambiguous", lc.sentences[3]}};
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
    for (const auto& [id, lc] : level_counts)
        level_json[id] = {{"hasipsio", lc.sentences[0]}, {"haeyo", lc.sentences[1]}, {"banmal", lc.sentences[2]}, {"ambiguous", lc.sentences[3]}};
    global["speech_levels"] = level_json;
    if (!voice_rows_by_char.empty()) {
        if (!have_spk) {
            rows.push_back({"전체", "화자 혼동률", "최근접 centroid 식별 오류", "≤ 3%", "n/a", kNaN, kNA,
                            "speaker encoder 없음: " + scorer_reason("speaker_encoder")});
        } else if (centroids.size() < 2) {
            rows.push_back({"전체", "화자 혼동률", "최근접 centroid 식별 오류", "≤ 3%", "n/a", kNaN, kNA,
                            "등록된 캐릭터 음성이 2개 미만 (voice.enrollment 또는 참조 음성 필요)"});
        } else {
            ConfusionResult cr = speaker_confusion(centroids, trials);
            if (cr.n == 0) {
                rows.push_back({"전체", "화자 혼동률", "최근접 centroid 식별 오류", "≤ 3%", "n/a", kNaN, kNA,
                                "등록은 되었지만 식별할 시험 발화(임베딩이 있는 합성 음성)가 없음"});
            } else {
            global["speaker_confusion"] = {{"speakers", cr.speakers}, {"matrix", cr.matrix}, {"n", cr.n}, {"confused", cr.confused},
                                           {"skipped", cr.skipped}, {"rate", cr.confusion_rate},
                                           {"margin_mean", cr.margins.empty() ? json(nullptr) : json(mean(cr.margins))}};
            bool self_enrolled = enroll_reference.size() < centroids.size();
            rows.push_back({"전체", "화자 혼동률", "최근접 centroid 식별 오류", "≤ 3%",
                            fmt::format("{} ({}/{}, 평균 margin {})", pct(cr.confusion_rate, 2), cr.confused, cr.n,
                                        cr.margins.empty() ? "n/a" : num(mean(cr.margins), 3)),
                            cr.confusion_rate, cr.n ? (cr.confusion_rate <= 0.03 ? kPass : kFail) : kNA,
                            "proxy: " + results["scorers"]["speaker_encoder"].value("describe", "") +
                                (self_enrolled ? "; 일부 캐릭터는 참조 음성이 없어 같은 음성으로 합성한 등록 문장으로 등록 (자기 일관성 검사, 사람 목소리와의 동일성 아님)" : "")});
            }
        }
    }
    results["characters"] = characters;
    results["global"] = global;
    json rows_json = json::array();
    for (const auto& r : rows) rows_json.push_back(row_json(r));
    results["report_rows"] = rows_json;
    // per-case rows (embeddings kept: they are the evidence for similarity/confusion)
    results["cases"] = journal.rows;
    results["plots"] = {{"lengths", all_lengths}, {"latencies", all_latencies}};
    return results;
}

}  // namespace troupe::eval
