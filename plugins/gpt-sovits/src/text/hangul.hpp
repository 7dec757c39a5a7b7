// Hangul syllable arithmetic and jamo tables (Unicode 3.12): precomposed syllables U+AC00–U+D7A3,
// conjoining jamo U+1100 block, compatibility jamo U+3131–U+3163.
#pragma once

#include <string>

namespace troupe::sovits::text::hangul {

constexpr char32_t kSyllableBase = 0xAC00;
constexpr int kLeadCount = 19, kVowelCount = 21, kTailCount = 28;
constexpr char32_t kSyllableLast = kSyllableBase + kLeadCount * kVowelCount * kTailCount - 1;  // U+D7A3

/// Lead (onset) indices, in Unicode order.
enum Lead : int { G, GG, N, D, DD, R, M, B, BB, S, SS, NG, J, JJ, CH, K, T, P, H };
/// Vowel indices, in Unicode order.
enum Vowel : int { A, AE, YA, YAE, EO, E, YEO, YE, O, WA, WAE, OE, YO, U, WEO, WE, WI, YU, EU, UI, I };
/// Tail (coda) indices, in Unicode order; 0 = no coda.
enum Tail : int {
    kNone, tG, tGG, tGS, tN, tNJ, tNH, tD, tL, tLG, tLM, tLB, tLS, tLT, tLP, tLH, tM, tB, tBS, tS, tSS,
    tNG, tJ, tCH, tK, tT, tP, tH
};

struct Syllable {
    int lead = 0, vowel = 0, tail = 0;
    bool operator==(const Syllable& o) const { return lead == o.lead && vowel == o.vowel && tail == o.tail; }
};

inline bool is_syllable(char32_t c) { return c >= kSyllableBase && c <= kSyllableLast; }
Syllable decompose(char32_t c);  // requires is_syllable(c)
char32_t compose(const Syllable& s);

/// Compatibility jamo for a lead / vowel / tail index (tail 0 → 0).
char32_t lead_compat(int lead);
char32_t vowel_compat(int vowel);
char32_t tail_compat(int tail);

/// The compatibility letter with the same Unicode name as a conjoining jamo (U+1100–U+11FF),
/// or 0 when there is none.
char32_t conjoining_to_compat(char32_t c);

/// The lead index that sounds like a tail consonant when it moves to the next syllable (연음),
/// or -1 for tails that do not move (ㅇ, none).
int tail_as_lead(int tail);

}  // namespace troupe::sovits::text::hangul
