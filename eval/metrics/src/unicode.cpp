#include <troupe/eval/unicode.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>

namespace troupe::eval {

namespace {
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

// (base, mark) -> precomposed, for Latin letters with the common combining marks.
const std::map<std::pair<char32_t, char32_t>, char32_t>& latin_table() {
    static const std::map<std::pair<char32_t, char32_t>, char32_t> table = [] {
        std::map<std::pair<char32_t, char32_t>, char32_t> t;
        // Each row: mark, then pairs "base composed" over the Latin-1 / Extended-A blocks.
        struct Row { char32_t mark; const char* bases; std::u32string composed; };
        const Row rows[] = {
            {0x0300, "AEIOUaeiou", U"ÀÈÌÒÙàèìòù"},
            {0x0301, "AEIOUYaeiouyCcNnSsZz", U"ÁÉÍÓÚÝáéíóúýĆćŃńŚśŹź"},
            {0x0302, "AEIOUaeiouCcGgHhJjSsWwYy", U"ÂÊÎÔÛâêîôûĈĉĜĝĤĥĴĵŜŝŴŵŶŷ"},
            {0x0303, "ANOanoIiUu", U"ÃÑÕãñõĨĩŨũ"},
            {0x0304, "AaEeIiOoUu", U"ĀāĒēĪīŌōŪū"},
            {0x0306, "AaEeGgIiOoUu", U"ĂăĔĕĞğĬĭŎŏŬŭ"},
            {0x0307, "CcEeGgIZz", U"ĊċĖėĠġİŻż"},
            {0x0308, "AEIOUaeiouyY", U"ÄËÏÖÜäëïöüÿŸ"},
            {0x030A, "AaUu", U"ÅåŮů"},
            {0x030B, "OoUu", U"ŐőŰű"},
            {0x030C, "CcDdEeNnRrSsTtZz", U"ČčĎďĚěŇňŘřŠšŤťŽž"},
            {0x0327, "CcGgKkLlNnRrSsTt", U"ÇçĢģĶķĻļŅņŖŗŞşŢţ"},
            {0x0328, "AaEeIiUu", U"ĄąĘęĮįŲų"},
        };
        for (const Row& r : rows)
            for (size_t i = 0; r.bases[i]; ++i) t[{char32_t(r.bases[i]), r.mark}] = r.composed[i];
        return t;
    }();
    return table;
}
}  // namespace

std::u32string nfc(const std::u32string& text) {
    std::u32string out;
    out.reserve(text.size());
    const auto& latin = latin_table();
    for (char32_t c : text) {
        if (!out.empty()) {
            char32_t last = out.back();
            // L + V -> LV
            if (last >= kLBase && last < kLBase + kLCount && c >= kVBase && c < kVBase + kVCount) {
                out.back() = kSBase + ((last - kLBase) * kVCount + (c - kVBase)) * kTCount;
                continue;
            }
            // LV + T -> LVT
            if (last >= kSBase && last < kSBase + kSCount && (last - kSBase) % kTCount == 0 && c > kTBase &&
                c < kTBase + kTCount) {
                out.back() = last + (c - kTBase);
                continue;
            }
            auto it = latin.find({last, c});
            if (it != latin.end()) {
                out.back() = it->second;
                continue;
            }
        }
        out.push_back(c);
    }
    return out;
}

std::string nfc(const std::string& text) { return utf8_encode(nfc(utf8_decode(text))); }

size_t code_points(const std::string& text) { return nfc(utf8_decode(text)).size(); }

bool is_hangul_syllable(char32_t c) noexcept { return c >= kSBase && c < kSBase + kSCount; }
bool is_hangul(char32_t c) noexcept {
    return is_hangul_syllable(c) || (c >= 0x1100 && c <= 0x11FF) || (c >= 0x3130 && c <= 0x318F) ||
           (c >= 0xA960 && c <= 0xA97F) || (c >= 0xD7B0 && c <= 0xD7FF);
}
bool is_space(char32_t c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}
bool is_punct_or_symbol(char32_t c) noexcept {
    if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
                         (c >= 0x7B && c <= 0x7E);
    return (c >= 0xA1 && c <= 0xBF && c != 0xAA && c != 0xB2 && c != 0xB3 && c != 0xB5 && c != 0xB9 &&
            c != 0xBA && c != 0xBC && c != 0xBD && c != 0xBE) ||
           c == 0xD7 || c == 0xF7 || (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E) ||
           (c >= 0x2190 && c <= 0x2BFF) || (c >= 0x3001 && c <= 0x3003) || (c >= 0x3008 && c <= 0x3020) ||
           c == 0x30FB || (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
           (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65) || (c >= 0x1F000 && c <= 0x1FAFF) ||
           (c >= 0x2600 && c <= 0x27BF) || c == 0xFE0F || c == 0x200D;
}

Jamo decompose_syllable(char32_t s) noexcept {
    if (!is_hangul_syllable(s)) return {};
    int index = int(s - kSBase);
    return {index / kNCount, (index % kNCount) / kTCount, index % kTCount};
}
char32_t compose_syllable(int initial, int medial, int final) noexcept {
    if (initial < 0 || initial >= kLCount || medial < 0 || medial >= kVCount || final < 0 || final >= kTCount)
        return 0xFFFD;
    return kSBase + char32_t((initial * kVCount + medial) * kTCount + final);
}

char32_t to_lower(char32_t c) noexcept {
    if (c >= 'A' && c <= 'Z') return c + 32;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
        // Latin Extended-A alternates upper/lower in pairs, with a phase shift in 0x139..0x148 and 0x179..0x17E.
        bool shifted = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
        bool upper = shifted ? (c % 2 == 1) : (c % 2 == 0);
        if (c == 0x178) return 0xFF;
        return upper ? c + 1 : c;
    }
    return c;
}

}  // namespace troupe::eval
