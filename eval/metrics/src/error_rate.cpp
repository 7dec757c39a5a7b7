#include <troupe/eval/error_rate.hpp>

#include <troupe/eval/korean_text.hpp>
#include <troupe/eval/unicode.hpp>

#include <algorithm>

namespace troupe::eval {

double EditCounts::rate() const {
    if (ref == 0) return hyp == 0 ? 0.0 : double(ins);
    return double(errors()) / double(ref);
}

EditCounts& EditCounts::operator+=(const EditCounts& o) {
    ref += o.ref; hyp += o.hyp; hits += o.hits; sub += o.sub; del += o.del; ins += o.ins;
    return *this;
}

EditCounts align(const std::vector<std::u32string>& ref, const std::vector<std::u32string>& hyp) {
    const size_t R = ref.size(), H = hyp.size();
    // cost table plus backtrace
    std::vector<std::vector<size_t>> d(R + 1, std::vector<size_t>(H + 1, 0));
    for (size_t i = 0; i <= R; ++i) d[i][0] = i;
    for (size_t j = 0; j <= H; ++j) d[0][j] = j;
    for (size_t i = 1; i <= R; ++i)
        for (size_t j = 1; j <= H; ++j) {
            size_t diag = d[i - 1][j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1);
            d[i][j] = std::min({diag, d[i - 1][j] + 1, d[i][j - 1] + 1});
        }
    EditCounts c;
    c.ref = R;
    c.hyp = H;
    size_t i = R, j = H;
    while (i > 0 || j > 0) {
        if (i > 0 && j > 0 && d[i][j] == d[i - 1][j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1)) {
            if (ref[i - 1] == hyp[j - 1]) c.hits++;
            else c.sub++;
            --i; --j;
        } else if (i > 0 && d[i][j] == d[i - 1][j] + 1) {
            c.del++; --i;
        } else {
            c.ins++; --j;
        }
    }
    return c;
}

std::vector<std::u32string> cer_tokens(const std::string& normalized) {
    std::vector<std::u32string> out;
    for (char32_t c : nfc(utf8_decode(normalized)))
        if (!is_space(c)) out.push_back(std::u32string(1, c));
    return out;
}

std::vector<std::u32string> wer_tokens(const std::string& normalized) {
    std::vector<std::u32string> out;
    std::u32string word;
    for (char32_t c : nfc(utf8_decode(normalized))) {
        if (is_space(c)) {
            if (!word.empty()) out.push_back(word);
            word.clear();
        } else {
            word.push_back(c);
        }
    }
    if (!word.empty()) out.push_back(word);
    return out;
}

UtteranceErrors score_utterance(const std::string& reference, const std::string& hypothesis) {
    UtteranceErrors u;
    u.ref_norm = normalize_korean(reference);
    u.hyp_norm = normalize_korean(hypothesis);
    u.chars = align(cer_tokens(u.ref_norm), cer_tokens(u.hyp_norm));
    u.words = align(wer_tokens(u.ref_norm), wer_tokens(u.hyp_norm));
    return u;
}

ErrorRateSummary summarize(const std::vector<UtteranceErrors>& utterances) {
    ErrorRateSummary s;
    s.n = utterances.size();
    if (utterances.empty()) return s;
    size_t above = 0;
    for (const auto& u : utterances) {
        s.chars += u.chars;
        s.words += u.words;
        s.cer_macro += u.cer();
        s.wer_macro += u.wer();
        if (u.cer() > 0.5) ++above;
    }
    s.cer_macro /= double(s.n);
    s.wer_macro /= double(s.n);
    s.cer_micro = s.chars.rate();
    s.wer_micro = s.words.rate();
    s.share_cer_above_half = double(above) / double(s.n);
    return s;
}

}  // namespace troupe::eval
