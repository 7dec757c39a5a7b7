// UTF-8 <-> UTF-32 conversion for the text front-end (code-point granularity, as Python strings).
#pragma once

#include <string>
#include <string_view>

namespace troupe::sovits::text {

/// Decodes UTF-8; throws troupe::Error(invalid_argument) on malformed input.
std::u32string utf8_to_u32(std::string_view s);

/// Encodes code points as UTF-8.
std::string u32_to_utf8(std::u32string_view s);
std::string u32_to_utf8(char32_t c);

}  // namespace troupe::sovits::text
