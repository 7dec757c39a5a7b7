#include <troupe/status.hpp>
#include <troupe/text.hpp>

#include <fmt/format.h>

namespace troupe {

bool utf8_valid(const std::string& text) noexcept {
    try {
        std::u32string d = utf8_decode(text);
        return utf8_encode(d) == text;
    } catch (...) {
        return false;
    }
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
