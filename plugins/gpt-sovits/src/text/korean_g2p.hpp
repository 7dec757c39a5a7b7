// Korean pronunciation rules (표준 발음법) on Hangul text — the role g2pk2 plays upstream: the output
// spells the pronunciation in Hangul syllables, with g2pk2's conventions (neutralised codas written as
// ㄱ/ㄷ/ㅂ, tensed onsets as ㄲ/ㄸ/ㅃ/ㅆ/ㅉ: 있겠어 → 읻께써). No POS tagger: morphology-dependent rules
// use heuristics and the word lists in korean_lexicon.hpp. Rules apply inside a word (between spaces);
// across a space only the adnominal -ㄹ tensing of bound nouns (할 수 → 할 쑤).
#pragma once

#include <string>
#include <string_view>

namespace troupe::sovits::text {

struct KoreanG2pOptions {
    bool use_lexicon = true;        // exception words (제26/28/29항 ...)
    bool ui_simplification = true;  // 의 not word-initial → [이], the particle 의 → [에] (제5항 다만 3, 4)
    bool adnominal_tensing = true;  // 할 수 → 할 쑤 (제27항)
};

class KoreanG2p {
public:
    explicit KoreanG2p(KoreanG2pOptions options = {}) : options_(options) {}

    /// Numerals must already be spelled out (normalize_numbers); other characters pass through.
    std::u32string apply(std::u32string_view text) const;
    std::string apply(std::string_view utf8) const;

private:
    KoreanG2pOptions options_;
};

}  // namespace troupe::sovits::text
