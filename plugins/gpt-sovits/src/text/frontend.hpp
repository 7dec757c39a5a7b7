// The Korean text front-end of GPT-SoVITS v2 (upstream text/korean.py g2p + cleaned_text_to_sequence):
// text → Latin letters spelled in Hangul → numbers read → pronunciation rules (g2pk2's role) →
// compatibility jamo with compound vowels split → g2pk2-error fix → final period → phones → ids.
#pragma once

#include "korean_g2p.hpp"
#include "symbols.hpp"
#include "text_split.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace troupe::sovits::text {

/// Every intermediate string of one run (UTF-8), named after upstream's functions.
struct KoreanStages {
    std::string text;
    std::string latin_to_hangul;
    std::string numbers;        // numerals spelled out (inside g2pk2 upstream)
    std::string pronounced;     // after the pronunciation rules (g2pk2's output upstream)
    std::string divide_hangul;
    std::string fix_g2pk2_error;
    std::string final_period;
    std::vector<std::string> phones;
    std::vector<int> ids;
};

// Upstream's steps, exposed one by one (UTF-8 in, UTF-8 out).
std::string latin_to_hangul(std::string_view text);   // a→에이 ... z→제트, case-insensitive
std::string divide_hangul(std::string_view text);     // jamo.j2hcj(jamo.h2j(.)) + compound vowels split
std::string fix_g2pk2_error(std::string_view text);   // ㅇㅡㄹ␠ㄹ / ㄹㅡㄹ␠ㄹ → …␠ㄴ
std::string final_period(std::string_view text);      // re.sub(r"([\u3131-\u3163])$", r"\1.", .)
/// post_replace_ph on one code point: punctuation mapped, symbols kept, anything else → 停.
std::string post_replace_ph(char32_t c, const SymbolTable& table);
/// post_replace_ph on a string (upstream also maps the multi-character key "..." → "…").
std::string post_replace_ph(std::string_view ph, const SymbolTable& table);

class KoreanFrontend {
public:
    explicit KoreanFrontend(KoreanG2pOptions options = {}, const SymbolTable& table = SymbolTable::v2());

    /// The whole pipeline. Throws troupe::Error(invalid_argument) on invalid UTF-8.
    KoreanStages run(std::string_view text) const;
    /// The stages after the pronunciation rules, starting from a given pronounced form (as the
    /// conformance fixture does with its g2pk2 stand-ins).
    KoreanStages run_from_pronounced(std::string_view pronounced) const;

    /// Upstream's target preparation (TTS.run / get_tts_wav): punctuation runs collapsed, text cut into
    /// segments (pre_seg_text), runs of spaces collapsed, each segment through run(); a segment with
    /// fewer than 6 phones is re-run as "." + segment.
    std::vector<KoreanStages> prepare_target(std::string_view text, CutMethod method) const;

    /// Upstream's prompt (reference transcript) preparation: newlines stripped from both ends, "。"
    /// appended unless it ends in a split mark, runs of spaces collapsed, the < 6 phones retry.
    KoreanStages prepare_prompt(std::string_view prompt_text) const;

    const SymbolTable& symbols() const { return *table_; }

private:
    KoreanG2p g2p_;
    const SymbolTable* table_;
};

}  // namespace troupe::sovits::text
