#include <troupe/status.hpp>
#include <troupe/text.hpp>

#include <fmt/format.h>

namespace troupe {

std::u32string utf8_decode(const std::string& s) {
    std::u32string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        auto c = uint8_t(s[i]);
        int n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) { out.push_back(0xFFFD); ++i; continue; }
        char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
        bool ok = true;
        for (int k = 1; k < n; ++k) {
            auto cc = uint8_t(s[i + k]);
            if ((cc >> 6) != 0x2) { ok = false; break; }
            cp = (cp << 6) | (cc & 0x3F);
        }
        const char32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (!ok || cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) { out.push_back(0xFFFD); ++i; continue; }
        out.push_back(cp);
        i += n;
    }
    return out;
}

bool utf8_valid(const std::string& text) noexcept {
    try {
        std::u32string d = utf8_decode(text);
        return utf8_encode(d) == text;
    } catch (...) {
        return false;
    }
}

std::string utf8_encode(const std::u32string& text) {
    std::string out;
    for (char32_t c : text) {
        if (c < 0x80) out.push_back(char(c));
        else if (c < 0x800) { out.push_back(char(0xC0 | (c >> 6))); out.push_back(char(0x80 | (c & 0x3F))); }
        else if (c < 0x10000) {
            out.push_back(char(0xE0 | (c >> 12)));
            out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
            out.push_back(char(0x80 | (c & 0x3F)));
        } else {
            out.push_back(char(0xF0 | (c >> 18)));
            out.push_back(char(0x80 | ((c >> 12) & 0x3F)));
            out.push_back(char(0x80 | ((c >> 6) & 0x3F)));
            out.push_back(char(0x80 | (c & 0x3F)));
        }
    }
    return out;
}

size_t utf8_length(const std::string& text) {
    size_t n = 0;
    for (unsigned char c : text) n += (c & 0xC0) != 0x80;
    return n;
}

std::string trim(const std::string& text) {
    const char* ws = " \t\r\n\f\v";
    size_t b = text.find_first_not_of(ws);
    if (b == std::string::npos) return {};
    return text.substr(b, text.find_last_not_of(ws) - b + 1);
}

void check_user_text(const std::string& text, const std::string& what, size_t max_chars) {
    if (trim(text).empty()) throw Error(Errc::invalid_argument, what + " is empty");
    if (!utf8_valid(text)) throw Error(Errc::invalid_argument, what + " is not valid UTF-8");
    size_t n = utf8_length(text);
    if (n > max_chars)
        throw Error(Errc::invalid_argument,
                    fmt::format("{} is too long: {} characters, at most {}", what, n, max_chars));
}

}  // namespace troupe
