// troupe/eval/error_rate.hpp — WER/CER by unit-cost Levenshtein alignment (as jiwer), Korean style:
// CER on syllables with every space removed (primary) and eojeol WER (secondary), both after
// normalize_korean() on each side. Micro = summed edit counts / summed reference length; macro = mean
// of per-utterance rates (uncapped, as Seed-TTS-eval).
#pragma once

#include <string>
#include <vector>

namespace troupe::eval {

struct EditCounts {
    size_t ref = 0, hyp = 0, hits = 0, sub = 0, del = 0, ins = 0;
    size_t errors() const { return sub + del + ins; }
    /// errors / ref; with an empty reference: 0 when the hypothesis is empty too, else the insertions.
    double rate() const;
    EditCounts& operator+=(const EditCounts& o);
};

/// Aligns two token sequences (minimum edits; ties prefer substitution, then deletion).
EditCounts align(const std::vector<std::u32string>& ref, const std::vector<std::u32string>& hyp);

std::vector<std::u32string> cer_tokens(const std::string& normalized);  // code points, spaces removed
std::vector<std::u32string> wer_tokens(const std::string& normalized);  // eojeol (space-split)

struct UtteranceErrors {
    std::string ref_norm, hyp_norm;
    EditCounts chars, words;
    double cer() const { return chars.rate(); }
    double wer() const { return words.rate(); }
};
/// Normalises both sides with normalize_korean, then aligns characters and eojeol.
UtteranceErrors score_utterance(const std::string& reference, const std::string& hypothesis);

struct ErrorRateSummary {
    size_t n = 0;
    double cer_micro = 0, cer_macro = 0, wer_micro = 0, wer_macro = 0;
    double share_cer_above_half = 0;  // utterances with CER > 0.5 (hard failures)
    EditCounts chars, words;          // summed counts
};
ErrorRateSummary summarize(const std::vector<UtteranceErrors>& utterances);

}  // namespace troupe::eval
