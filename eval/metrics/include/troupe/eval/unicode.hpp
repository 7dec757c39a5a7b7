// troupe/eval/unicode.hpp — a small NFC composer (Hangul + common Latin) and Hangul jamo helpers, on
// top of the UTF-8 codec in troupe/text.hpp. Never decomposes to NFD: every count here is on NFC code points.
#pragma once

#include <troupe/text.hpp>  // utf8_decode / utf8_encode (inline; no troupe_core needed)

#include <cstddef>
#include <string>

namespace troupe::eval {

/// Canonical composition for the cases Korean text meets: conjoining Hangul jamo (L V [T] and
/// LV + T) and Latin letters followed by common combining marks (grave, acute, circumflex, tilde,
/// macron, breve, dot, diaeresis, ring, double acute, caron, cedilla, ogonek). Precomposed input is
/// returned unchanged. Not a full Unicode NFC (no canonical reordering of rare marks).
std::u32string nfc(const std::u32string& text);
std::string nfc(const std::string& text);

/// Number of code points after NFC.
size_t code_points(const std::string& text);

bool is_hangul_syllable(char32_t c) noexcept;
bool is_hangul(char32_t c) noexcept;  // syllables, conjoining or compatibility jamo
bool is_space(char32_t c) noexcept;   // Unicode White_Space subset used for text
/// Unicode punctuation or symbol (ASCII, General Punctuation, CJK and full-width ranges, emoji).
bool is_punct_or_symbol(char32_t c) noexcept;

/// Indices of a precomposed Hangul syllable: initial 0..18, medial 0..20, final 0..27 (0 = none).
struct Jamo {
    int initial = -1, medial = -1, final = -1;
};
Jamo decompose_syllable(char32_t syllable) noexcept;  // {-1,-1,-1} when not a syllable
char32_t compose_syllable(int initial, int medial, int final) noexcept;

/// Final-consonant indices used by the speech-level rules.
constexpr int kFinalNone = 0, kFinalB = 17;  // ㅂ

/// Lowercases ASCII and Latin-1/Latin Extended-A letters; other code points unchanged.
char32_t to_lower(char32_t c) noexcept;

}  // namespace troupe::eval
