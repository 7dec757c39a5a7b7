#include <troupe/eval/report.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

using nlohmann::json;

namespace troupe::eval {
namespace {

std::string md_escape(std::string s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\|";
        else if (c == '\n') out += ' ';
        else out += c;
    }
    return out;
}

std::string html_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

std::vector<std::string> scopes_in_order(const json& results) {
    std::vector<std::string> scopes;
    for (const auto& r : results["report_rows"]) {
        std::string s = r.value("scope", "");
        if (std::find(scopes.begin(), scopes.end(), s) == scopes.end()) scopes.push_back(s);
    }
    return scopes;
}

std::string scope_title(const json& results, const std::string& scope) {
    if (!results["characters"].contains(scope)) return scope == "전체" ? "전체 (캐릭터 사이)" : scope;
    const json& c = results["characters"][scope];
    return fmt::format("{} ({}) — 텍스트: {}, 음성: {}", c.value("name", scope), scope, c.value("text_backend", "?"),
                       c.value("speech_backend", "?"));
}

std::string scorer_line(const json& s, const char* label) {
    if (!s.is_object()) return fmt::format("- {}: 기록 없음\n", label);
    if (s.value("available", false))
        return fmt::format("- {}: `{}` {} — {}\n", label, s.value("plugin", ""), s.value("version", ""), s.value("describe", ""));
    return fmt::format("- {}: 없음 — {}\n", label, s.value("reason", ""));
}

}  // namespace

std::string render_markdown(const json& results) {
    std::string md;
    const json& suite = results["suite"];
    md += fmt::format("# 평가 보고서: {}\n\n", suite.value("name", ""));
    if (!suite.value("description", "").empty()) md += suite.value("description", "") + "\n\n";
    md += fmt::format("- 생성: {} · git `{}` · 설정 해시 `{}`\n", results.value("generated", ""),
                      results.value("git_revision", ""), results.value("config_hash", "").substr(0, 16));
    if (results.value("config_hash", "") != results.value("current_config_hash", ""))
        md += "- **주의:** 저널의 설정 해시가 현재 설정과 다릅니다 (캐릭터나 suite가 실행 뒤 바뀜).\n";
    size_t n = results["cases"].size(), failed = 0;
    for (const auto& c : results["cases"]) failed += c.value("status", "") != "ok";
    md += fmt::format("- 케이스 {}개 (실패/건너뜀 {}개). 케이스별 결과: `cases.jsonl`, 모든 수치: `results.json`\n", n, failed);
    md += "\n## 채점 플러그인\n\n";
    const json& sc = results["scorers"];
    md += scorer_line(sc.value("transcriber", json()), "전사 (ASR)");
    md += scorer_line(sc.value("speaker_encoder", json()), "화자 임베딩");
    if (sc.contains("quality"))
        for (const auto& q : sc["quality"]) md += scorer_line(q, "품질 추정");
    md += "\n'proxy'로 표시된 값은 사람 평가가 아니라 명시한 방법으로 계산한 대리 지표입니다. "
          "플러그인이 없어 계산할 수 없는 지표는 n/a와 그 이유를 적었습니다.\n";

    for (const auto& scope : scopes_in_order(results)) {
        md += "\n## " + scope_title(results, scope) + "\n\n";
        md += "| 항목 | 지표 | 목표치 | 결과치 | 판정 |\n|---|---|---|---|---|\n";
        std::vector<std::string> notes;
        for (const auto& r : results["report_rows"]) {
            if (r.value("scope", "") != scope) continue;
            std::string note = r.value("note", "");
            std::string mark;
            if (!note.empty()) {
                auto it = std::find(notes.begin(), notes.end(), note);
                if (it == notes.end()) { notes.push_back(note); it = notes.end() - 1; }
                mark = fmt::format(" [{}]", size_t(it - notes.begin()) + 1);
            }
            md += fmt::format("| {} | {} | {} | {}{} | {} |\n", md_escape(r.value("item", "")), md_escape(r.value("metric", "")),
                              md_escape(r.value("target", "")), md_escape(r.value("value", "")), mark, r.value("verdict", ""));
        }
        if (!notes.empty()) {
            md += "\n";
            for (size_t i = 0; i < notes.size(); ++i) md += fmt::format("{}. {}\n", i + 1, md_escape(notes[i]));
        }
    }
    // failed cases
    std::string failures;
    for (const auto& c : results["cases"])
        if (c.value("status", "") != "ok")
            failures += fmt::format("- `{}` ({}): {}\n", c.value("id", ""), c.value("status", ""), md_escape(c.value("error", "")));
    if (!failures.empty()) md += "\n## 실패하거나 건너뛴 케이스\n\n" + failures;
    // sample lines
    std::string samples;
    for (const auto& c : results["cases"])
        if (c.value("type", "") == "text" && c.value("status", "") == "ok")
            samples += fmt::format("- `{}` [{}] {}\n", c.value("id", ""), c.value("stop", ""), md_escape(c.value("line", "")));
    if (!samples.empty()) md += "\n## 생성된 대사\n\n" + samples;
    return md;
}

// ------------------------------------------------------------------------------- SVG helpers
namespace {

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7"};

std::string svg_histogram(const std::string& title, const std::vector<double>& values, double lo, double hi, size_t bins,
                          double band_lo, double band_hi, const std::string& color) {
    const int W = 360, H = 180, L = 36, B = 28, T = 22;
    std::vector<size_t> counts(bins, 0);
    for (double v : values) {
        long b = long(std::floor((v - lo) / (hi - lo) * double(bins)));
        counts[size_t(std::clamp(b, 0L, long(bins) - 1))]++;
    }
    size_t top = std::max<size_t>(1, *std::max_element(counts.begin(), counts.end()));
    double bw = double(W - L - 8) / double(bins);
    auto x_of = [&](double v) { return L + (v - lo) / (hi - lo) * double(W - L - 8); };
    std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-size='10'>", W, H);
    s += fmt::format("<text x='{}' y='14' font-weight='bold'>{}</text>", L, html_escape(title));
    if (band_hi > band_lo)
        s += fmt::format("<rect x='{:.1f}' y='{}' width='{:.1f}' height='{}' fill='#dfd' />", x_of(band_lo), T,
                         x_of(band_hi) - x_of(band_lo), H - B - T);
    for (size_t i = 0; i < bins; ++i) {
        double h = double(counts[i]) / double(top) * double(H - B - T);
        s += fmt::format("<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='{}'><title>{:.0f}–{:.0f}: {}</title></rect>",
                         L + bw * double(i) + 1, H - B - h, bw - 2, h, color, lo + (hi - lo) * double(i) / double(bins),
                         lo + (hi - lo) * double(i + 1) / double(bins), counts[i]);
    }
    s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#333'/>", L, H - B, W - 8, H - B);
    for (int k = 0; k <= 5; ++k) {
        double v = lo + (hi - lo) * k / 5.0;
        s += fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle'>{:.0f}</text>", x_of(v), H - B + 12, v);
    }
    s += fmt::format("<text x='4' y='{}'>{}</text><text x='4' y='{}'>0</text>", T + 8, top, H - B);
    s += "</svg>";
    return s;
}

std::string svg_strip(const std::string& title, const std::map<std::string, std::vector<double>>& series, double limit) {
    const int W = 460, row = 26, L = 90, T = 24;
    int H = T + row * int(series.size()) + 30;
    double hi = limit;
    for (const auto& [k, v] : series)
        for (double x : v) hi = std::max(hi, x);
    hi = hi <= 0 ? 1 : hi * 1.05;
    auto x_of = [&](double v) { return L + v / hi * double(W - L - 10); };
    std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-size='10'>", W, H);
    s += fmt::format("<text x='4' y='14' font-weight='bold'>{}</text>", html_escape(title));
    int i = 0;
    for (const auto& [name, values] : series) {
        int y = T + row * i + row / 2;
        s += fmt::format("<text x='4' y='{}'>{}</text>", y + 3, html_escape(name));
        for (double v : values)
            s += fmt::format("<circle cx='{:.1f}' cy='{}' r='4' fill='{}' fill-opacity='0.6'><title>{:.2f} s</title></circle>", x_of(v), y,
                             kPalette[i % 8], v);
        ++i;
    }
    int axis = T + row * int(series.size()) + 4;
    s += fmt::format("<line x1='{}' y1='{}' x2='{}' y2='{}' stroke='#333'/>", L, axis, W - 10, axis);
    s += fmt::format("<line x1='{:.1f}' y1='{}' x2='{:.1f}' y2='{}' stroke='#c00' stroke-dasharray='4 3'/><text x='{:.1f}' y='{}' fill='#c00'>{:.0f} s</text>",
                     x_of(limit), T - 4, x_of(limit), axis, x_of(limit) + 2, T + 4, limit);
    for (int k = 0; k <= 4; ++k)
        s += fmt::format("<text x='{:.1f}' y='{}' text-anchor='middle'>{:.1f}</text>", x_of(hi * k / 4), axis + 14, hi * k / 4);
    s += "</svg>";
    return s;
}

std::string svg_levels(const json& levels, const std::string& title) {
    const int W = 460, row = 24, L = 90, T = 24;
    int H = T + row * int(levels.size()) + 30;
    const char* keys[] = {"hasipsio", "haeyo", "banmal", "ambiguous"};
    const char* names[] = {"하십시오체", "해요체", "반말", "불명"};
    const char* colors[] = {"#4e79a7", "#59a14f", "#f28e2b", "#bbbbbb"};
    std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-size='10'>", W, H);
    s += "<text x='4' y='14' font-weight='bold'>" + html_escape(title) + "</text>";
    int i = 0;
    for (const auto& [name, counts] : levels.items()) {
        double total = 0;
        for (const char* k : keys) total += counts.value(k, 0.0);
        int y = T + row * i;
        s += fmt::format("<text x='4' y='{}'>{}</text>", y + 14, html_escape(name));
        double x = L;
        for (int k = 0; k < 4; ++k) {
            double w = total > 0 ? counts.value(keys[k], 0.0) / total * (W - L - 10) : 0;
            if (w > 0)
                s += fmt::format("<rect x='{:.1f}' y='{}' width='{:.1f}' height='{}' fill='{}'><title>{}: {}</title></rect>", x, y + 2, w,
                                 row - 6, colors[k], names[k], counts.value(keys[k], 0));
            x += w;
        }
        ++i;
    }
    int ly = T + row * int(levels.size()) + 14;
    for (int k = 0; k < 4; ++k)
        s += fmt::format("<rect x='{}' y='{}' width='10' height='10' fill='{}'/><text x='{}' y='{}'>{}</text>", L + k * 90, ly - 9,
                         colors[k], L + k * 90 + 14, ly, names[k]);
    s += "</svg>";
    return s;
}

std::string svg_heatmap(const std::string& title, const std::vector<std::string>& labels,
                        const std::vector<std::vector<size_t>>& matrix) {
    const int cell = 44, L = 90, T = 40;
    const int n = int(labels.size());
    int W = L + cell * n + 10, H = T + cell * n + 30;
    std::string s = fmt::format("<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' font-size='10'>", W, H);
    s += fmt::format("<text x='4' y='14' font-weight='bold'>{}</text>", html_escape(title));
    s += fmt::format("<text x='{}' y='30'>예측 →</text>", L);
    for (int i = 0; i < n; ++i) {
        size_t row_total = 0;
        for (size_t v : matrix[size_t(i)]) row_total += v;
        s += fmt::format("<text x='4' y='{}'>{}</text>", T + cell * i + cell / 2 + 3, html_escape(labels[size_t(i)]));
        for (int j = 0; j < n; ++j) {
            size_t v = matrix[size_t(i)][size_t(j)];
            double share = row_total ? double(v) / double(row_total) : 0;
            int shade = int(255 - 200 * share);
            std::string fill = i == j ? fmt::format("rgb({},{},255)", shade, shade) : fmt::format("rgb(255,{},{})", shade, shade);
            s += fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='{}' stroke='#fff'/><text x='{}' y='{}' text-anchor='middle'>{}</text>",
                             L + cell * j, T + cell * i, cell, cell, fill, L + cell * j + cell / 2, T + cell * i + cell / 2 + 3, v);
        }
    }
    for (int j = 0; j < n; ++j)
        s += fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}</text>", L + cell * j + cell / 2, T + cell * n + 14,
                         html_escape(labels[size_t(j)]));
    s += "</svg>";
    return s;
}

}  // namespace

std::string render_html(const json& results) {
    std::string h = "<!DOCTYPE html><html lang='ko'><head><meta charset='utf-8'><title>troupe eval: " +
                    html_escape(results["suite"].value("name", "")) +
                    "</title><style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
                    "table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px;vertical-align:top}"
                    "th{background:#f4f4f4}.통과{color:#080;font-weight:bold}.미달{color:#c00;font-weight:bold}.n\\/a{color:#888}"
                    ".note{color:#666;font-size:12px}.plots svg{margin:4px;border:1px solid #eee}</style></head><body>";
    h += "<h1>평가 보고서: " + html_escape(results["suite"].value("name", "")) + "</h1>";
    h += fmt::format("<p>생성 {} · git <code>{}</code> · 설정 해시 <code>{}</code></p>", html_escape(results.value("generated", "")),
                     html_escape(results.value("git_revision", "")), html_escape(results.value("config_hash", "").substr(0, 16)));
    h += "<p class='note'>'proxy'는 사람 평가가 아닌 대리 지표이며 방법을 각 행의 주석에 적었습니다. n/a는 필요한 플러그인이 없어서 계산하지 않은 값입니다.</p>";
    for (const auto& scope : scopes_in_order(results)) {
        h += "<h2>" + html_escape(scope_title(results, scope)) + "</h2><table><tr><th>항목</th><th>지표</th><th>목표치</th><th>결과치</th><th>판정</th><th>방법 / 이유</th></tr>";
        for (const auto& r : results["report_rows"]) {
            if (r.value("scope", "") != scope) continue;
            std::string v = r.value("verdict", "");
            h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class='{}'>{}</td><td class='note'>{}</td></tr>",
                             html_escape(r.value("item", "")), html_escape(r.value("metric", "")), html_escape(r.value("target", "")),
                             html_escape(r.value("value", "")), html_escape(v), html_escape(v), html_escape(r.value("note", "")));
        }
        h += "</table>";
    }
    h += "<h2>그림</h2><div class='plots'>";
    int i = 0;
    if (results.contains("plots") && results["plots"].contains("lengths"))
        for (const auto& [id, values] : results["plots"]["lengths"].items()) {
            double lo = 50, hi = 90;
            if (results["characters"].contains(id) && results["characters"][id].contains("text")) {
                const auto& range = results["characters"][id]["text"]["length"]["range"];
                lo = range[0];
                hi = range[1];
            }
            std::string name = results["characters"].contains(id) ? results["characters"][id].value("name", id) : id;
            h += svg_histogram("답변 길이: " + name + " (NFC 코드포인트)", values.get<std::vector<double>>(), 0, 150, 15, lo, hi,
                               kPalette[i++ % 8]);
        }
    if (results.contains("plots") && results["plots"].contains("latencies") && !results["plots"]["latencies"].empty()) {
        std::map<std::string, std::vector<double>> series;
        for (const auto& [id, values] : results["plots"]["latencies"].items()) series[id] = values.get<std::vector<double>>();
        h += svg_strip("시나리오 지연 분포 (s)", series, results["suite"]["text"].value("latency_limit_s", 30.0));
    }
    if (results["global"].contains("speech_levels") && !results["global"]["speech_levels"].empty())
        h += svg_levels(results["global"]["speech_levels"], "문장 종결 화계 분포 (생성된 대사)");
    if (results["global"].contains("speech_levels_reference") && !results["global"]["speech_levels_reference"].empty())
        h += svg_levels(results["global"]["speech_levels_reference"], "문장 종결 화계 분포 (사람이 쓴 데이터, 참고)");
    if (results["global"].contains("speaker_confusion")) {
        const auto& c = results["global"]["speaker_confusion"];
        h += svg_heatmap("화자 혼동 행렬 (행: 의도한 화자)", c["speakers"].get<std::vector<std::string>>(),
                         c["matrix"].get<std::vector<std::vector<size_t>>>());
    }
    if (results["global"].contains("distinctiveness") && results["global"]["distinctiveness"].value("ok", false)) {
        const auto& d = results["global"]["distinctiveness"];
        h += svg_heatmap("페르소나 분류 혼동 행렬 (행: 실제 캐릭터)", d["labels"].get<std::vector<std::string>>(),
                         d["confusion"].get<std::vector<std::vector<size_t>>>());
    }
    h += "</div><h2>케이스</h2><table><tr><th>id</th><th>상태</th><th>내용</th></tr>";
    for (const auto& c : results["cases"]) {
        std::string content = c.value("type", "") == "text" ? c.value("line", "") : c.value("text", "");
        if (c.contains("asr")) content += " → ASR: " + c["asr"].value("hypothesis", "");
        if (c.contains("error")) content += " (" + c.value("error", "") + ")";
        std::string audio;
        if (c.contains("wav")) audio = " <audio controls preload='none' src='" + html_escape(c.value("wav", "")) + "'></audio>";
        h += fmt::format("<tr><td>{}</td><td>{}</td><td>{}{}</td></tr>", html_escape(c.value("id", "")),
                         html_escape(c.value("status", "")), html_escape(content), audio);
    }
    h += "</table></body></html>\n";
    return h;
}

std::string compare_results(const json& a, const json& b, const std::string& label_a, const std::string& label_b, json* as_json) {
    auto key = [](const json& r) { return r.value("scope", "") + " | " + r.value("item", "") + " | " + r.value("metric", ""); };
    std::map<std::string, json> ra, rb;
    std::vector<std::string> order;
    for (const auto& r : a["report_rows"]) { ra[key(r)] = r; order.push_back(key(r)); }
    for (const auto& r : b["report_rows"]) {
        rb[key(r)] = r;
        if (!ra.count(key(r))) order.push_back(key(r));
    }
    std::string md = fmt::format("# 비교: A = {} · B = {}\n\n", label_a, label_b);
    md += fmt::format("- A: suite {}, git `{}`, 설정 `{}`\n- B: suite {}, git `{}`, 설정 `{}`\n\n", a["suite"].value("name", ""),
                      a.value("git_revision", ""), a.value("config_hash", "").substr(0, 12), b["suite"].value("name", ""),
                      b.value("git_revision", ""), b.value("config_hash", "").substr(0, 12));
    md += "| 범위 | 항목 | 지표 | A | B | Δ (B−A) | 판정 A → B |\n|---|---|---|---|---|---|---|\n";
    json rows = json::array();
    std::vector<std::string> changed;
    for (const auto& k : order) {
        json x = ra.count(k) ? ra[k] : json::object(), y = rb.count(k) ? rb[k] : json::object();
        const json& ref = ra.count(k) ? x : y;
        std::string delta = "—";
        json delta_num = nullptr;
        if (x.contains("value_num") && y.contains("value_num") && x["value_num"].is_number() && y["value_num"].is_number()) {
            double d = y["value_num"].get<double>() - x["value_num"].get<double>();
            delta = fmt::format("{:+.4g}", d);
            delta_num = d;
        }
        std::string va = x.value("verdict", "(없음)"), vb = y.value("verdict", "(없음)");
        bool verdict_changed = va != vb;
        if (verdict_changed) changed.push_back(fmt::format("{}: {} → {}", k, va, vb));
        md += fmt::format("| {} | {} | {} | {} | {} | {} | {}{} |\n", md_escape(ref.value("scope", "")), md_escape(ref.value("item", "")),
                          md_escape(ref.value("metric", "")), md_escape(x.value("value", "(없음)")), md_escape(y.value("value", "(없음)")),
                          delta, verdict_changed ? "**" + va + " → " + vb + "**" : va, "");
        rows.push_back({{"key", k}, {"a", x}, {"b", y}, {"delta", delta_num}, {"verdict_changed", verdict_changed}});
    }
    md += "\n## 판정이 바뀐 지표\n\n";
    if (changed.empty()) md += "없음\n";
    for (const auto& c : changed) md += "- " + c + "\n";
    if (as_json) *as_json = {{"a", label_a}, {"b", label_b}, {"rows", rows}, {"verdict_changes", changed}};
    return md;
}

}  // namespace troupe::eval
