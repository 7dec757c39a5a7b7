#include "frontend.hpp"

#include "hangul.hpp"
#include "korean_numbers.hpp"
#include "utf8.hpp"

#include <troupe/status.hpp>

namespace troupe::sovits::text {

namespace {

const char32_t* const kLetterNames[26] = {
    U"에이", U"비",  U"시",   U"디",   U"이",   U"에프", U"지",     U"에이치", U"아이",
    U"제이", U"케이", U"엘",  U"엠",   U"엔",   U"오",   U"피",     U"큐",     U"아르",
    U"에스", U"티",  U"유",   U"브이", U"더블유", U"엑스", U"와이", U"제트"};

// Compound vowels → two symbols, as upstream's _hangul_divided list.
const char32_t* split_vowel(char32_t c) {
    switch (c) {
        case U'ㅘ': return U"ㅗㅏ";
        case U'ㅙ': return U"ㅗㅐ";
        case U'ㅚ': return U"ㅗㅣ";
        case U'ㅝ': return U"ㅜㅓ";
        case U'ㅞ': return U"ㅜㅔ";
        case U'ㅟ': return U"ㅜㅣ";
        case U'ㅢ': return U"ㅡㅣ";
        case U'ㅑ': return U"ㅣㅏ";
        case U'ㅒ': return U"ㅣㅐ";
        case U'ㅕ': return U"ㅣㅓ";
        case U'ㅖ': return U"ㅣㅔ";
        case U'ㅛ': return U"ㅣㅗ";
        case U'ㅠ': return U"ㅣㅜ";
        default: return nullptr;
    }
}

bool is_compat_jamo(char32_t c) { return c >= 0x3131 && c <= 0x3163; }

std::u32string latin_to_hangul_u32(std::u32string_view text) {
    std::u32string out;
    for (char32_t c : text) {
        int letter = -1;
        if (c >= U'a' && c <= U'z') letter = static_cast<int>(c - U'a');
        else if (c >= U'A' && c <= U'Z') letter = static_cast<int>(c - U'A');
        else if (c == 0x212A) letter = 'k' - 'a';  // KELVIN SIGN matches k under re.IGNORECASE
        else if (c == 0x017F) letter = 's' - 'a';  // LATIN SMALL LETTER LONG S matches s likewise
        else if (c == 0x0130 || c == 0x0131) letter = 'i' - 'a';  // dotted / dotless I match i likewise
        if (letter >= 0) out += kLetterNames[letter];
        else out.push_back(c);
    }
    return out;
}

std::u32string divide_hangul_u32(std::u32string_view text) {
    std::u32string jamo;
    for (char32_t c : text) {
        if (hangul::is_syllable(c)) {
            const auto s = hangul::decompose(c);
            jamo.push_back(hangul::lead_compat(s.lead));
            jamo.push_back(hangul::vowel_compat(s.vowel));
            if (s.tail) jamo.push_back(hangul::tail_compat(s.tail));
        } else if (const char32_t compat = hangul::conjoining_to_compat(c)) {
            jamo.push_back(compat);
        } else {
            jamo.push_back(c);
        }
    }
    std::u32string out;
    for (char32_t c : jamo) {
        if (const char32_t* split = split_vowel(c)) out += split;
        else out.push_back(c);
    }
    return out;
}

std::u32string fix_g2pk2_error_u32(std::u32string_view text) {
    std::u32string out;
    size_t i = 0;
    while (i + 4 < text.size()) {
        const std::u32string_view three = text.substr(i, 3);
        if ((three == U"ㅇㅡㄹ" || three == U"ㄹㅡㄹ") && text[i + 3] == U' ' && text[i + 4] == U'ㄹ') {
            out += three;
            out += U" ㄴ";
            i += 5;
        } else {
            out.push_back(text[i++]);
        }
    }
    out += text.substr(i);
    return out;
}

std::u32string final_period_u32(std::u32string_view text) {
    std::u32string out(text);
    if (!out.empty() && is_compat_jamo(out.back())) {
        out.push_back(U'.');
    } else if (out.size() >= 2 && out.back() == U'\n' && is_compat_jamo(out[out.size() - 2])) {
        out.insert(out.size() - 1, 1, U'.');  // Python's $ also matches before a final newline
    }
    return out;
}

}  // namespace

std::string latin_to_hangul(std::string_view text) { return u32_to_utf8(latin_to_hangul_u32(utf8_to_u32(text))); }
std::string divide_hangul(std::string_view text) { return u32_to_utf8(divide_hangul_u32(utf8_to_u32(text))); }
std::string fix_g2pk2_error(std::string_view text) { return u32_to_utf8(fix_g2pk2_error_u32(utf8_to_u32(text))); }
std::string final_period(std::string_view text) { return u32_to_utf8(final_period_u32(utf8_to_u32(text))); }

std::string post_replace_ph(std::string_view ph, const SymbolTable& table) {
    static const std::pair<std::string_view, std::string_view> kMap[] = {
        {"：", ","}, {"；", ","}, {"，", ","}, {"。", "."}, {"！", "!"}, {"？", "?"},
        {"\n", "."}, {"·", ","}, {"、", ","}, {"...", "…"}, {" ", "空"}};
    for (const auto& [from, to] : kMap)
        if (ph == from) {
            ph = to;
            break;
        }
    return table.contains(ph) ? std::string(ph) : std::string("停");
}

std::string post_replace_ph(char32_t c, const SymbolTable& table) { return post_replace_ph(u32_to_utf8(c), table); }

KoreanFrontend::KoreanFrontend(KoreanG2pOptions options, const SymbolTable& table)
    : g2p_(options), table_(&table) {}

KoreanStages KoreanFrontend::run(std::string_view text) const {
    const std::u32string input = utf8_to_u32(text);
    const std::u32string latin = latin_to_hangul_u32(input);
    const std::u32string numbers = normalize_numbers(latin);
    const std::u32string pronounced = g2p_.apply(numbers);
    KoreanStages st = run_from_pronounced(u32_to_utf8(pronounced));
    st.text = std::string(text);
    st.latin_to_hangul = u32_to_utf8(latin);
    st.numbers = u32_to_utf8(numbers);
    return st;
}

KoreanStages KoreanFrontend::run_from_pronounced(std::string_view pronounced) const {
    KoreanStages st;
    st.pronounced = std::string(pronounced);
    const std::u32string divided = divide_hangul_u32(utf8_to_u32(pronounced));
    const std::u32string fixed = fix_g2pk2_error_u32(divided);
    const std::u32string period = final_period_u32(fixed);
    st.divide_hangul = u32_to_utf8(divided);
    st.fix_g2pk2_error = u32_to_utf8(fixed);
    st.final_period = u32_to_utf8(period);
    st.phones.reserve(period.size());
    for (char32_t c : period) st.phones.push_back(post_replace_ph(c, *table_));
    st.ids = table_->ids(st.phones);
    return st;
}

namespace {

std::string collapse_spaces(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == ' ' && !out.empty() && out.back() == ' ') continue;
        out.push_back(c);
    }
    return out;
}

}  // namespace

std::vector<KoreanStages> KoreanFrontend::prepare_target(std::string_view text, CutMethod method) const {
    std::vector<KoreanStages> out;
    for (const auto& segment : pre_seg_text(replace_consecutive_punctuation(text), method)) {
        const std::string collapsed = collapse_spaces(segment);
        KoreanStages st = run(collapsed);
        if (st.phones.size() < 6) st = run("." + collapsed);
        if (!st.phones.empty()) out.push_back(std::move(st));
    }
    return out;
}

KoreanStages KoreanFrontend::prepare_prompt(std::string_view prompt_text) const {
    std::u32string t = utf8_to_u32(prompt_text);
    while (!t.empty() && t.front() == U'\n') t.erase(t.begin());
    while (!t.empty() && t.back() == U'\n') t.pop_back();
    if (t.empty()) throw Error(Errc::invalid_argument, "the prompt text is empty");
    if (!is_split_char(t.back())) t.push_back(U'。');
    const std::string collapsed = collapse_spaces(u32_to_utf8(t));
    KoreanStages st = run(collapsed);
    if (st.phones.size() < 6) st = run("." + collapsed);
    return st;
}

}  // namespace troupe::sovits::text
