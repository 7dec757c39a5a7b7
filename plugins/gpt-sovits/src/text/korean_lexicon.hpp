// Word lists behind the Korean pronunciation rules: what 표준 발음법 decides by morphology (POS,
// Sino-Korean vs native, compounds) and MeCab would tell g2pk2. Without a tagger these are listed.
#pragma once

#include <string_view>
#include <vector>

namespace troupe::sovits::text::lexicon {

/// A spelling → pronounced-spelling replacement applied before the rules (the rules still run on the
/// result). `bounded`: the match must start a word and end at a word end or before a particle.
struct Entry {
    std::u32string_view written;
    std::u32string_view spoken;
    bool bounded = false;
};

/// Exceptions: Sino-Korean ㄹ+ㄷ/ㅅ/ㅈ tensing (제26항), 사이시옷-less compounds with tensing (제28항),
/// ㄴ insertion (제29항), ㄴ+ㄹ read [ㄴㄴ] (제20항 다만), linking through a neutralised coda (제15항).
const std::vector<Entry>& entries();

/// Noun syllables ending in ㄺ/ㄻ/ㄼ that do not follow the verb-stem rules (제11항, 제24항, 제25항).
bool is_compound_coda_noun(char32_t syllable);

/// Verb stems ending in ㄴ/ㅁ whose endings starting with ㄱ/ㄷ/ㅅ/ㅈ are tensed (제24항), and the
/// word forms that look the same but are nouns (참고, 감기, ...).
const std::vector<std::u32string_view>& nasal_verb_stems();
const std::vector<std::u32string_view>& nasal_verb_endings();
bool is_nasal_stem_lookalike(std::u32string_view word);

/// Words ending in 의 that are nouns (회의, 주의, ...): their final 의 reads [이], not the particle [에].
bool is_ui_noun(std::u32string_view last_two_syllables);

/// Sino-Korean suffixes after which ㄴ+ㄹ reads [ㄴㄴ] (생산량, 판단력, 이원론, ...).
bool is_nn_suffix(char32_t syllable);

/// Bound nouns tensed after the adnominal ending -(으)ㄹ (제27항: 할 수, 갈 데, 볼 것), the particles
/// that may follow them, and words ending in ㄹ that are not adnominal forms (오늘, 서울, ...).
bool is_bound_noun_phrase(std::u32string_view next_word);
bool is_rieul_noun(std::u32string_view word);

/// Particles (josa) and copula endings that may follow a noun inside a word.
bool is_particle(std::u32string_view s);

}  // namespace troupe::sovits::text::lexicon
