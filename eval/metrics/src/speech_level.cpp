#include <troupe/eval/speech_level.hpp>

#include <troupe/eval/stats.hpp>
#include <troupe/eval/unicode.hpp>

#include <cmath>
#include <limits>

namespace troupe::eval {

const char* level_name(Level level) noexcept {
    switch (level) {
        case Level::hasipsio: return "하십시오체";
        case Level::haeyo: return "해요체";
        case Level::banmal: return "반말";
        case Level::ambiguous: return "불명";
    }
    return "?";
}
const char* level_key(Level level) noexcept {
    switch (level) {
        case Level::hasipsio: return "hasipsio";
        case Level::haeyo: return "haeyo";
        case Level::banmal: return "banmal";
        case Level::ambiguous: return "ambiguous";
    }
    return "?";
}

namespace {

bool is_sentence_end(char32_t c) {
    return c == '.' || c == '!' || c == '?' || c == 0x2026 || c == '~' || c == '\n' || c == 0x3002 || c == 0xFF01 ||
           c == 0xFF1F;
}

std::u32string drop_brackets(const std::u32string& s) {
    std::u32string out;
    int depth = 0;
    for (char32_t c : s) {
        if (c == '(' || c == '[' || c == 0xFF08) { ++depth; continue; }
        if ((c == ')' || c == ']' || c == 0xFF09) && depth > 0) { --depth; continue; }
        if (depth == 0) out.push_back(c);
    }
    return out;
}

// Medial indices: ㅏ0 ㅐ1 ㅑ2 ㅒ3 ㅓ4 ㅔ5 ㅕ6 ㅖ7 ㅗ8 ㅘ9 ㅙ10 ㅚ11 ㅛ12 ㅜ13 ㅝ14 ㅞ15 ㅟ16 ㅠ17 ㅡ18 ㅢ19 ㅣ20
bool ends_with(const std::u32string& s, const std::u32string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::string> split_sentences(const std::string& line) {
    std::u32string s = drop_brackets(nfc(utf8_decode(line)));
    std::vector<std::string> out;
    std::u32string current;
    auto flush = [&] {
        size_t b = 0, e = current.size();
        while (b < e && (is_space(current[b]) || is_punct_or_symbol(current[b]))) ++b;
        while (e > b && is_space(current[e - 1])) --e;
        if (e > b) out.push_back(utf8_encode(current.substr(b, e - b)));
        current.clear();
    };
    for (size_t i = 0; i < s.size(); ++i) {
        current.push_back(s[i]);
        if (is_sentence_end(s[i])) {
            while (i + 1 < s.size() && (is_sentence_end(s[i + 1]) || s[i + 1] == '"' || s[i + 1] == 0x201D)) current.push_back(s[++i]);
            flush();
        }
    }
    flush();
    return out;
}

namespace {
Level clause_level(std::u32string s);
}  // namespace

// The final clause decides; when it carries no ending (an afterthought after a comma: "…할게요, 좀
//민망하지만." / "…이야, 허허."), the clauses before it are tried from the right.
Level sentence_level(const std::string& sentence) {
    std::u32string s = nfc(utf8_decode(sentence));
    std::vector<std::u32string> clauses(1);
    for (char32_t c : s) {
        if (c == U',' || c == 0xFF0C || c == 0x3001) clauses.emplace_back();
        else clauses.back().push_back(c);
    }
    Level found = Level::ambiguous;
    for (auto it = clauses.rbegin(); it != clauses.rend(); ++it) {
        Level level = clause_level(*it);
        if (found == Level::ambiguous) found = level;
        // a polite clause makes the sentence polite even if an afterthought ends plainly
        // ("웃어 드릴게요, 오늘은 생일이니까.")
        if (found == Level::banmal && (level == Level::haeyo || level == Level::hasipsio)) return level;
    }
    return found;
}

namespace {
Level clause_level(std::u32string s) {
    // strip trailing punctuation, symbols, spaces, laughter (ㅋ ㅎ ㅠ ㅜ compatibility jamo) and '~'
    while (!s.empty()) {
        char32_t c = s.back();
        bool laughter = c >= 0x3131 && c <= 0x318E;
        if (is_space(c) || is_punct_or_symbol(c) || laughter) s.pop_back();
        else break;
    }
    // final eojeol
    size_t sp = s.size();
    while (sp > 0 && !is_space(s[sp - 1])) --sp;
    std::u32string w = s.substr(sp);
    if (w.empty() || !is_hangul_syllable(w.back())) return Level::ambiguous;
    size_t n = w.size();
    char32_t last = w[n - 1];
    char32_t prev = n >= 2 ? w[n - 2] : 0;
    char32_t prev2 = n >= 3 ? w[n - 3] : 0;

    if (w == U"네" || w == U"예") return Level::ambiguous;  // a bare "yes" carries no ending
    // 하십시오체: -(스)ㅂ니다 / -(스)ㅂ니까 / -(으)십시오 / -(으)ㅂ시다 / -시오
    if ((last == U'다' || last == U'까') && prev == U'니' && decompose_syllable(prev2).final == kFinalB)
        return Level::hasipsio;
    if (ends_with(w, U"십시오") || ends_with(w, U"시오")) return Level::hasipsio;
    if (last == U'다' && prev == U'시' && decompose_syllable(prev2).final == kFinalB) return Level::hasipsio;

    // 해요체: -요 (아요/어요/에요/예요/지요/네요/군요/세요/ㄹ게요/거든요 …), -죠
    if (last == U'요' || last == U'죠') return Level::haeyo;

    // 반말 (해체 + 해라체)
    static const std::u32string banmal_last = U"야지네게래냐니다자라군나걸데까어아해돼봐와줘워대든고가써서켜놔내려마꺼져여셔때뭐";
    if (banmal_last.find(last) != std::u32string::npos) return Level::banmal;
    if (ends_with(w, U"구먼") || ends_with(w, U"구만")) return Level::banmal;
    // -잖아/-거야 already covered; -ㄹ걸, -ㄹ래 covered; -냐고 etc. covered by 고
    return Level::ambiguous;
}
}  // namespace

size_t LevelCounts::total() const {
    size_t t = 0;
    for (size_t c : sentences) t += c;
    return t;
}
std::array<double, 3> LevelCounts::definite_shares() const {
    double d = double(sentences[0] + sentences[1] + sentences[2]);
    if (d <= 0) return {0, 0, 0};
    return {sentences[0] / d, sentences[1] / d, sentences[2] / d};
}
double LevelCounts::ambiguous_share() const {
    size_t t = total();
    return t ? double(sentences[3]) / double(t) : 0;
}
Level LevelCounts::dominant() const {
    size_t best = 0;
    Level level = Level::ambiguous;
    for (int i = 0; i < 3; ++i)
        if (sentences[i] > best) { best = sentences[i]; level = Level(i); }
    return level;
}

LevelCounts count_levels(const std::vector<std::string>& lines) {
    LevelCounts c;
    for (const std::string& line : lines)
        for (const std::string& s : split_sentences(line)) c.sentences[size_t(sentence_level(s))]++;
    return c;
}

LevelDivergence level_divergence(const std::map<std::string, LevelCounts>& per_character) {
    LevelDivergence d;
    std::vector<std::pair<std::string, std::array<double, 3>>> dists;
    for (const auto& [name, counts] : per_character) {
        auto shares = counts.definite_shares();
        if (shares[0] + shares[1] + shares[2] > 0) dists.push_back({name, shares});
    }
    double sum = 0;
    size_t pairs = 0;
    for (size_t i = 0; i < dists.size(); ++i)
        for (size_t j = i + 1; j < dists.size(); ++j) {
            std::vector<double> p(dists[i].second.begin(), dists[i].second.end());
            std::vector<double> q(dists[j].second.begin(), dists[j].second.end());
            double js = jensen_shannon(p, q);
            d.pairwise[{dists[i].first, dists[j].first}] = js;
            sum += js;
            ++pairs;
        }
    d.mean_pairwise = pairs ? sum / double(pairs) : std::numeric_limits<double>::quiet_NaN();
    return d;
}

}  // namespace troupe::eval
