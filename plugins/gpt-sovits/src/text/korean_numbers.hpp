// Arabic numerals → Hangul readings for the Korean front-end (g2pk2's convert_num role): sino-Korean
// by default, native Korean before native counters (개, 명, 마리, 시, 살, ...), month names (유월, 시월),
// percent, decimals, and digit-by-digit reading for codes with a leading zero.
#pragma once

#include <cstdint>
#include <string>

namespace troupe::sovits::text {

/// Sino-Korean reading of a non-negative integer written in decimal digits ("12" → "십이",
/// "10000" → "만", "100000000" → "일억"). More than 20 digits are read digit by digit.
std::u32string read_sino_number(std::u32string_view digits);

/// Native Korean reading in attributive form before a counter ("1" → "한", "20" → "스무",
/// "21" → "스물한"); values of 100 and more read the hundreds in sino-Korean ("101" → "백한").
std::u32string read_native_number(std::u32string_view digits);

/// Replaces every number in `text` by its reading, choosing sino/native from the counter that follows.
std::u32string normalize_numbers(std::u32string_view text);

}  // namespace troupe::sovits::text
