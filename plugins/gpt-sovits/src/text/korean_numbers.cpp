#include "korean_numbers.hpp"

#include <algorithm>
#include <array>

namespace troupe::sovits::text {

namespace {

constexpr std::array<const char32_t*, 10> kSinoDigit = {U"영", U"일", U"이", U"삼", U"사",
                                                        U"오", U"육", U"칠", U"팔", U"구"};
constexpr std::array<const char32_t*, 10> kNativeOnes = {U"",    U"한",   U"두",   U"세",   U"네",
                                                         U"다섯", U"여섯", U"일곱", U"여덟", U"아홉"};
constexpr std::array<const char32_t*, 10> kNativeTens = {U"",    U"열",   U"스물", U"서른", U"마흔",
                                                         U"쉰",  U"예순", U"일흔", U"여든", U"아흔"};

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool is_hangul_syllable(char32_t c) { return c >= 0xAC00 && c <= 0xD7A3; }

std::u32string strip_leading_zeros(std::u32string_view d) {
    size_t i = 0;
    while (i + 1 < d.size() && d[i] == U'0') ++i;
    return std::u32string(d.substr(i));
}

// Reads a group of up to four digits (value 1..9999) in sino-Korean; 일 is dropped before 십/백/천.
std::u32string read_group(std::u32string_view g) {
    static const char32_t* const kUnits[4] = {U"", U"십", U"백", U"천"};
    std::u32string out;
    const size_t n = g.size();
    for (size_t i = 0; i < n; ++i) {
        const int d = static_cast<int>(g[i] - U'0');
        const size_t place = n - 1 - i;
        if (d == 0) continue;
        if (!(d == 1 && place > 0)) out += kSinoDigit[d];
        out += kUnits[place];
    }
    return out;
}

std::u32string read_digits(std::u32string_view digits, const char32_t* zero) {
    std::u32string out;
    for (char32_t c : digits) out += c == U'0' ? std::u32string(zero) : std::u32string(kSinoDigit[c - U'0']);
    return out;
}

// Counters read with native numerals (attributive form). Longest match wins; sino-Korean counters
// that share a prefix (번지, 시즌, 대학) are listed in kSinoCounters and checked first.
const std::u32string_view kNativeCounters[] = {
    U"개",   U"명",   U"마리", U"살",   U"시간", U"시",   U"권",   U"그루", U"군데", U"벌",   U"잔",
    U"병",   U"채",   U"척",   U"켤레", U"송이", U"장",   U"가지", U"달",   U"사람", U"통",   U"줄",
    U"끼",   U"곳",   U"배",   U"판",   U"쌍",   U"알",   U"봉지", U"상자", U"그릇", U"조각", U"번",
    U"모금", U"발짝", U"발",   U"방",   U"움큼", U"주먹", U"자루", U"닢",   U"톨",   U"축",   U"첩",
    U"포기", U"푼",   U"대",   U"손",   U"쪽",   U"문제", U"마디", U"걸음", U"번째", U"밤",   U"해"};
const std::u32string_view kSinoCounters[] = {U"번지", U"번호", U"번선", U"시즌", U"대학", U"대대", U"대표",
                                             U"배속", U"장면", U"장애", U"개월", U"개년", U"개국", U"해리"};

bool starts_with(std::u32string_view s, std::u32string_view p) { return s.substr(0, p.size()) == p; }

size_t counter_match(std::u32string_view rest, const std::u32string_view* list, size_t n) {
    size_t best = 0;
    for (size_t i = 0; i < n; ++i)
        if (list[i].size() > best && starts_with(rest, list[i])) best = list[i].size();
    return best;
}

}  // namespace

std::u32string read_sino_number(std::u32string_view digits) {
    const std::u32string d = strip_leading_zeros(digits);
    if (d.empty()) return {};
    if (d == U"0") return U"영";
    if (d.size() > 20) return read_digits(d, U"영");
    static const char32_t* const kBig[5] = {U"", U"만", U"억", U"조", U"경"};
    std::u32string out;
    const size_t groups = (d.size() + 3) / 4;
    for (size_t gi = 0; gi < groups; ++gi) {
        const size_t from_right = groups - 1 - gi;
        const size_t end = d.size() - from_right * 4;
        const size_t begin = end >= 4 ? end - 4 : 0;
        const std::u32string_view g = std::u32string_view(d).substr(begin, end - begin);
        const std::u32string text = read_group(g);
        if (text.empty()) continue;
        // 10000 is 만, not 일만 (but 일억, 일조 keep 일).
        if (from_right == 1 && text == U"일") {
            out += kBig[from_right];
        } else {
            out += text;
            out += kBig[from_right];
        }
    }
    return out;
}

std::u32string read_native_number(std::u32string_view digits) {
    const std::u32string d = strip_leading_zeros(digits);
    if (d.empty()) return {};
    if (d == U"0") return U"영";
    if (d.size() > 20) return read_digits(d, U"영");
    const size_t n = d.size();
    const int tens = n >= 2 ? static_cast<int>(d[n - 2] - U'0') : 0;
    const int ones = static_cast<int>(d[n - 1] - U'0');
    std::u32string out;
    if (n > 2) {
        std::u32string high = d.substr(0, n - 2);
        high += U"00";
        out = read_sino_number(high);
    }
    if (tens == 2 && ones == 0) {
        out += U"스무";
    } else {
        out += kNativeTens[tens];
        out += kNativeOnes[ones];
    }
    return out;
}

std::u32string normalize_numbers(std::u32string_view text) {
    std::u32string out;
    size_t i = 0;
    const size_t n = text.size();
    while (i < n) {
        if (!is_digit(text[i])) {
            out.push_back(text[i++]);
            continue;
        }
        // Integer part with optional thousands separators (1,234,567).
        std::u32string digits;
        size_t j = i;
        while (j < n) {
            if (is_digit(text[j])) {
                digits.push_back(text[j++]);
            } else if (text[j] == U',' && j + 3 < n && is_digit(text[j + 1]) && is_digit(text[j + 2]) &&
                       is_digit(text[j + 3]) && (j + 4 >= n || !is_digit(text[j + 4]))) {
                ++j;  // a comma followed by exactly three digits
            } else {
                break;
            }
        }
        // Decimal part.
        std::u32string fraction;
        if (j + 1 < n && text[j] == U'.' && is_digit(text[j + 1])) {
            size_t k = j + 1;
            while (k < n && is_digit(text[k])) fraction.push_back(text[k++]);
            j = k;
        }
        const std::u32string_view rest = text.substr(j);
        std::u32string reading;
        if (!fraction.empty()) {
            reading = read_sino_number(digits) + U"점" + read_digits(fraction, U"영");
        } else if (digits.size() > 1 && digits[0] == U'0') {
            reading = read_digits(digits, U"공");
        } else if (!rest.empty() && rest[0] == U'%') {
            reading = read_sino_number(digits) + U" 퍼센트";
            ++j;
        } else if (starts_with(rest, U"월")) {
            const std::u32string v = strip_leading_zeros(digits);
            reading = v == U"6" ? U"유" : v == U"10" ? U"시" : read_sino_number(digits);
        } else if (!rest.empty() && is_hangul_syllable(rest[0]) &&
                   counter_match(rest, kSinoCounters, std::size(kSinoCounters)) == 0 &&
                   counter_match(rest, kNativeCounters, std::size(kNativeCounters)) > 0) {
            const std::u32string v = strip_leading_zeros(digits);
            const bool decade = starts_with(rest, U"대") && v.size() >= 2 && v.back() == U'0';
            if (decade) {
                reading = read_sino_number(digits);
            } else if (starts_with(rest, U"번째") && v == U"1") {
                reading = U"첫";
            } else {
                reading = read_native_number(digits);
            }
        } else {
            reading = read_sino_number(digits);
        }
        out += reading;
        i = j;
    }
    return out;
}

}  // namespace troupe::sovits::text
