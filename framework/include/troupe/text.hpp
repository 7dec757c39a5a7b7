// troupe/text.hpp — small UTF-8 helpers used across the host, eval and scenes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe {

/// True if `text` is well-formed UTF-8.
bool utf8_valid(const std::string& text) noexcept;
/// Decodes to code points (invalid bytes become U+FFFD).
std::u32string utf8_decode(const std::string& text);
std::string utf8_encode(const std::u32string& text);
/// Number of code points.
size_t utf8_length(const std::string& text);
/// Trims ASCII whitespace at both ends.
std::string trim(const std::string& text);
/// Checks user text given to say/speak: not empty, valid UTF-8, at most `max_chars` code points.
/// Throws Error(invalid_argument) saying what is wrong; `what` names the input ("--text").
void check_user_text(const std::string& text, const std::string& what, size_t max_chars);

}  // namespace troupe
