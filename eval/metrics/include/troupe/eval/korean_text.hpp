// troupe/eval/korean_text.hpp — the normalisation applied identically to ASR reference and hypothesis:
// NFC, bracketed stage directions removed, Latin lowercased, numbers verbalised (Sino-Korean or native
// by the counter that follows; digit by digit for phone-like and zero-led strings), %, $ and ~ read out,
// punctuation and symbols turned into spaces, whitespace collapsed.
#pragma once

#include <string>

namespace troupe::eval {

/// Sino-Korean reading of a non-negative integer given as digits ("2024" → "이천이십사"); "0" → "영".
std::string sino_korean_number(const std::string& digits);
/// Native reading in attributive form (1..99: 한, 두, 세, 네, 스무, 서른…); falls back to Sino above 99.
std::string native_korean_number(const std::string& digits);

/// Replaces every digit run in `text` with its reading (see file comment).
std::string verbalize_numbers(const std::string& text);

/// Full ASR normalisation (see file comment).
std::string normalize_korean(const std::string& text);

}  // namespace troupe::eval
