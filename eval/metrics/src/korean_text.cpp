#include <troupe/eval/korean_text.hpp>

#include <troupe/eval/unicode.hpp>

#include <array>

namespace troupe::eval {
namespace {

const char* const kSinoDigit[] = {"", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"};
const char* const kDigitName[] = {"공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"};

// 0..9999 in Sino-Korean; "일" dropped before 십/백/천.
std::string sino_below_10000(int n) {
    static const char* const unit[] = {"", "십", "백", "천"};
    std::string out;
    for (int p = 3; p >= 0; --p) {
        int d = (n / std::array<int, 4>{1, 10, 100, 1000}[size_t(p)]) % 10;
        if (d == 0) continue;
        if (!(d == 1 && p > 0)) out += kSinoDigit[d];
        out += unit[p];
    }
    return out;
}

// Counters read with native numerals (Sino for everything else).
bool native_counter(const std::u32string& rest) {
    static const std::u32string counters[] = {U"개",  U"명", U"시간", U"시", U"살", U"마리", U"번째", U"번",
                                              U"잔",  U"권", U"장",   U"대", U"병", U"그릇", U"가지", U"군데",
                                              U"달",  U"사람", U"쪽"};
    for (const auto& c : counters)
        if (rest.compare(0, c.size(), c) == 0) {
            // "시" is the hour only when a particle or nothing follows (not 시작, 시즌 …)
            if (c == U"시" && rest.size() > 1 && is_hangul_syllable(rest[1]) &&
                std::u32string(U"에부까쯤반는가도로이와").find(rest[1]) == std::u32string::npos)
                return false;
            return true;
        }
    return false;
}

}  // namespace

std::string sino_korean_number(const std::string& digits) {
    size_t i = 0;
    while (i + 1 < digits.size() && digits[i] == '0') ++i;
    std::string d = digits.substr(i);
    if (d.empty() || d == "0") return "영";
    if (d.size() > 16) {  // beyond 경: read digit by digit
        std::string out;
        for (char c : d) out += kDigitName[c - '0'] == std::string("공") ? "영" : kDigitName[c - '0'];
        return out;
    }
    static const char* const big[] = {"", "만", "억", "조"};
    std::string out;
    int groups = int((d.size() + 3) / 4);
    for (int g = groups - 1; g >= 0; --g) {
        long end = long(d.size()) - 4 * g, start = std::max(0L, end - 4);
        int value = std::stoi(d.substr(size_t(start), size_t(end - start)));
        if (value == 0) continue;
        // "만" alone (10000 → 만, not 일만)
        if (!(value == 1 && g == 1)) out += sino_below_10000(value);
        out += big[g];
    }
    return out;
}

std::string native_korean_number(const std::string& digits) {
    int n = 0;
    if (digits.size() > 2) return sino_korean_number(digits);
    for (char c : digits) n = n * 10 + (c - '0');
    if (n == 0) return "영";
    static const char* const tens[] = {"", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"};
    static const char* const ones[] = {"", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"};
    if (n == 20) return "스무";
    return std::string(tens[n / 10]) + ones[n % 10];
}

std::string verbalize_numbers(const std::string& in) {
    std::u32string s = nfc(utf8_decode(in));
    std::string out;
    size_t i = 0;
    auto is_digit = [](char32_t c) { return c >= '0' && c <= '9'; };
    while (i < s.size()) {
        char32_t c = s[i];
        if (c == '$' && i + 1 < s.size() && is_digit(s[i + 1])) {  // $5 → 5달러
            size_t j = i + 1;
            std::string digits;
            while (j < s.size() && (is_digit(s[j]) || s[j] == ',')) { if (s[j] != ',') digits += char(s[j]); ++j; }
            out += sino_korean_number(digits) + " 달러";
            i = j;
            continue;
        }
        if (!is_digit(c)) {
            if (c == '%') out += "퍼센트";
            else out += utf8_encode(std::u32string(1, c));
            ++i;
            continue;
        }
        // a digit run, with thousands separators, optional decimals, or a phone-like dash pattern
        size_t j = i;
        std::string digits;
        auto thousands_comma = [&](size_t k) {
            return s[k] == ',' && !digits.empty() && k + 3 < s.size() && is_digit(s[k + 1]) && is_digit(s[k + 2]) &&
                   is_digit(s[k + 3]) && (k + 4 == s.size() || !is_digit(s[k + 4]));
        };
        while (j < s.size() && (is_digit(s[j]) || thousands_comma(j))) {
            if (s[j] != ',') digits += char(s[j]);
            ++j;
        }
        // phone numbers / codes: 010-1234-5678
        if (j < s.size() && s[j] == '-' && j + 1 < s.size() && is_digit(s[j + 1]) && digits.size() >= 2) {
            std::string all = digits;
            while (j < s.size() && (is_digit(s[j]) || (s[j] == '-' && j + 1 < s.size() && is_digit(s[j + 1])))) {
                all += char(s[j] == '-' ? ' ' : s[j]);
                ++j;
            }
            std::string spoken;
            for (char d : all) spoken += d == ' ' ? std::string(" ") : std::string(kDigitName[d - '0']);
            out += spoken;
            i = j;
            continue;
        }
        std::string reading;
        if (digits.size() > 1 && digits[0] == '0') {  // zero-led: digit by digit
            for (char d : digits) reading += kDigitName[d - '0'];
        } else if (j + 1 < s.size() && s[j] == '.' && is_digit(s[j + 1])) {  // decimal
            reading = sino_korean_number(digits) + "점";
            ++j;
            while (j < s.size() && is_digit(s[j])) {
                reading += s[j] == '0' ? "영" : kSinoDigit[s[j] - '0'];
                ++j;
            }
        } else {
            // skip spaces between the number and its counter when choosing the reading
            size_t k = j;
            while (k < s.size() && s[k] == ' ') ++k;
            reading = native_counter(s.substr(k)) ? native_korean_number(digits) : sino_korean_number(digits);
        }
        // ranges: 1~3 → 일에서 삼
        out += reading;
        if (j < s.size() && s[j] == '~' && j + 1 < s.size() && is_digit(s[j + 1])) {
            out += "에서 ";
            ++j;
        }
        i = j;
    }
    return out;
}

std::string normalize_korean(const std::string& text) {
    std::u32string s = nfc(utf8_decode(text));
    // drop bracketed content: (웃음) [한숨] （…）
    std::u32string no_brackets;
    int depth = 0;
    for (char32_t c : s) {
        if (c == '(' || c == '[' || c == 0xFF08 || c == 0xFF3B) { ++depth; continue; }
        if ((c == ')' || c == ']' || c == 0xFF09 || c == 0xFF3D) && depth > 0) { --depth; continue; }
        if (depth == 0) no_brackets.push_back(to_lower(c));
    }
    std::u32string spoken = utf8_decode(verbalize_numbers(utf8_encode(no_brackets)));
    std::u32string out;
    for (char32_t c : spoken) {
        bool sep = is_space(c) || is_punct_or_symbol(c);
        if (sep) {
            if (!out.empty() && out.back() != U' ') out.push_back(U' ');
        } else {
            out.push_back(c);
        }
    }
    while (!out.empty() && out.back() == U' ') out.pop_back();
    return utf8_encode(out);
}

}  // namespace troupe::eval
