// troupe/text.hpp — small UTF-8 helpers used across the host, eval and scenes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe {

/// True if `text` is well-formed UTF-8.
bool utf8_valid(const std::string& text) noexcept;

// The codec is inline so that code that does not link troupe_core (the eval metrics, plugins) uses
// this one copy; the other functions here are in troupe_core.

/// Decodes to code points; malformed, overlong or surrogate sequences become U+FFFD.
inline std::u32string utf8_decode(const std::string& s) {
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

/// Encodes code points (not validated) as UTF-8.
inline std::string utf8_encode(const std::u32string& text) {
    std::string out;
    out.reserve(text.size());
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

/// Number of code points.
size_t utf8_length(const std::string& text);
/// Trims ASCII whitespace at both ends.
std::string trim(const std::string& text);
/// Checks user text given to say/speak: not empty, valid UTF-8, at most `max_chars` code points.
/// Throws Error(invalid_argument) saying what is wrong; `what` names the input ("--text").
void check_user_text(const std::string& text, const std::string& what, size_t max_chars);

}  // namespace troupe
