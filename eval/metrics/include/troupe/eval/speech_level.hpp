// troupe/eval/speech_level.hpp — Korean speech level of each sentence from its final ending
// (rule table over the last syllables, no model), per-character distributions and their divergence.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

namespace troupe::eval {

/// Levels detected. 반말 covers 해체 and 해라체; `ambiguous` is counted but never forced into a class.
enum class Level { hasipsio = 0, haeyo = 1, banmal = 2, ambiguous = 3 };
constexpr int kLevelCount = 4;
const char* level_name(Level level) noexcept;   // "하십시오체", "해요체", "반말", "불명"
const char* level_key(Level level) noexcept;    // "hasipsio", "haeyo", "banmal", "ambiguous"

/// Sentences of a line: split after . ! ? … ~ and newlines; stage directions in brackets dropped.
std::vector<std::string> split_sentences(const std::string& line);

/// Level of one sentence from its final eojeol (punctuation, emoji, ㅋ/ㅎ runs and trailing ~ stripped).
/// Sentences without Hangul are `ambiguous`.
Level sentence_level(const std::string& sentence);

struct LevelCounts {
    std::array<size_t, kLevelCount> sentences{};  // per Level
    size_t total() const;
    /// Shares over the three definite levels (ambiguous left out); all 0 when none.
    std::array<double, 3> definite_shares() const;
    double ambiguous_share() const;
    Level dominant() const;  // among definite levels; ambiguous when none
};
LevelCounts count_levels(const std::vector<std::string>& lines);

/// Pairwise Jensen–Shannon divergence (log2) between characters' definite-level distributions.
struct LevelDivergence {
    std::map<std::pair<std::string, std::string>, double> pairwise;
    double mean_pairwise = 0;  // NaN when fewer than two characters have definite sentences
};
LevelDivergence level_divergence(const std::map<std::string, LevelCounts>& per_character);

}  // namespace troupe::eval
