#include "korean_g2p.hpp"

#include "hangul.hpp"
#include "korean_lexicon.hpp"
#include "utf8.hpp"

#include <algorithm>
#include <vector>

namespace troupe::sovits::text {

using namespace hangul;

namespace {

struct Cell {
    char32_t ch = 0;
    bool syllable = false;
    Syllable s;
    char32_t original = 0;  // the syllable as written (for word lists)
    bool tense = false;     // force tensing of this syllable's lead (if plain obstruent)
};

bool is_plain_obstruent(int lead) { return lead == G || lead == D || lead == B || lead == S || lead == J; }

int tensed(int lead) {
    switch (lead) {
        case G: return GG;
        case D: return DD;
        case B: return BB;
        case S: return SS;
        case J: return JJ;
        default: return lead;
    }
}

// 제9항: representative sound of a single coda before a consonant or at the end.
int neutralised(int tail) {
    switch (tail) {
        case tGG: case tK: return tG;
        case tS: case tSS: case tJ: case tCH: case tT: case tH: return tD;
        case tP: return tB;
        default: return tail;
    }
}

bool is_word_char(char32_t c) { return is_syllable(c); }

// ---- lexicon ----

std::u32string apply_lexicon(std::u32string_view text) {
    const auto& entries = lexicon::entries();
    std::u32string out;
    size_t i = 0;
    while (i < text.size()) {
        if (!is_word_char(text[i])) {
            out.push_back(text[i++]);
            continue;
        }
        const bool word_start = i == 0 || !is_word_char(text[i - 1]);
        const lexicon::Entry* best = nullptr;
        for (const auto& e : entries) {
            if (text.substr(i, e.written.size()) != e.written) continue;
            if (e.bounded) {
                if (!word_start) continue;
                size_t end = i + e.written.size();
                size_t word_end = end;
                while (word_end < text.size() && is_word_char(text[word_end])) ++word_end;
                if (word_end != end && !lexicon::is_particle(text.substr(end, word_end - end))) continue;
            }
            if (!best || e.written.size() > best->written.size()) best = &e;
        }
        if (best) {
            out += best->spoken;
            i += best->written.size();
        } else {
            out.push_back(text[i++]);
        }
    }
    return out;
}

// ---- per-word rules ----

std::u32string word_text(const std::vector<Cell>& cells, size_t b, size_t e) {
    std::u32string w;
    for (size_t k = b; k < e; ++k) w.push_back(cells[k].original);
    return w;
}

bool starts_with(std::u32string_view s, std::u32string_view p) { return s.substr(0, p.size()) == p; }

void vowel_rules(std::vector<Cell>& cells, size_t b, size_t e, const KoreanG2pOptions& opt) {
    for (size_t k = b; k < e; ++k) {
        Syllable& s = cells[k].s;
        // 제5항 다만 1: 져 쪄 쳐 → [저 쩌 처].
        if ((s.lead == J || s.lead == JJ || s.lead == CH) && s.vowel == YEO) s.vowel = EO;
        // 제5항 다만 3: a consonant + ㅢ → [ㅣ] (늴리리, 희망 → 히망).
        if (s.lead != NG && s.vowel == UI) s.vowel = I;
    }
    if (!opt.ui_simplification) return;
    // 제5항 다만 4: 의 not word-initial → [이]; the particle 의 (word-final after a noun) → [에].
    for (size_t k = b + 1; k < e; ++k) {
        Syllable& s = cells[k].s;
        if (s.lead != NG || s.vowel != UI || s.tail != kNone) continue;
        if (k + 1 == e && e - b >= 2) {
            const std::u32string last_two = {cells[k - 1].original, cells[k].original};
            const std::u32string whole = word_text(cells, b, e);
            s.vowel = lexicon::is_ui_noun(last_two) || lexicon::is_ui_noun(whole) ? I : E;
        } else {
            s.vowel = I;
        }
    }
}

// Rules that depend on morphology, on adjacent syllables (cur, nxt) of one word.
void special_rules(std::vector<Cell>& cells, size_t b, size_t e) {
    const std::u32string word = word_text(cells, b, e);
    for (size_t k = b; k + 1 < e; ++k) {
        Syllable& cur = cells[k].s;
        Syllable& nxt = cells[k + 1].s;
        const bool noun = lexicon::is_compound_coda_noun(cells[k].original);
        // 제16항: names of letters — 디귿이 [디그시], 지읒이 [지으시], 키읔이 [키으기], 피읖이 [피으비].
        if (nxt.lead == NG && ((cur.lead == G && cur.vowel == EU && cur.tail == tD) ||
                               (cur.lead == NG && cur.vowel == EU &&
                                (cur.tail == tJ || cur.tail == tCH || cur.tail == tT || cur.tail == tH ||
                                 cur.tail == tK || cur.tail == tP)))) {
            nxt.lead = cur.tail == tK ? G : cur.tail == tP ? B : S;
            cur.tail = kNone;
            continue;
        }
        // 제17항: ㄷ/ㅌ(ㄾ) + 이 → [지]/[치]; ㄷ + 히 → [치].
        if (nxt.lead == NG && (nxt.vowel == I || nxt.vowel == YEO)) {
            if (cur.tail == tD) { cur.tail = kNone; nxt.lead = J; continue; }
            if (cur.tail == tT) { cur.tail = kNone; nxt.lead = CH; continue; }
            if (cur.tail == tLT) { cur.tail = tL; nxt.lead = CH; continue; }
        }
        // (히어 → 혀: 닫혀 [다처], 묻혔다; but not the noun 형 in 맏형 [마텽].)
        if (cur.tail == tD && nxt.lead == H &&
            (nxt.vowel == I || (nxt.vowel == YEO && (nxt.tail == kNone || nxt.tail == tSS)))) {
            cur.tail = kNone;
            nxt.lead = CH;
            if (nxt.vowel == YEO) nxt.vowel = EO;  // 닫혀 → [다처]
            continue;
        }
        // 제11항 다만: verb-stem ㄺ before ㄱ → [ㄹ] + tensing (맑게 [말께]).
        if (cur.tail == tLG && nxt.lead == G && !noun) {
            cur.tail = tL;
            nxt.lead = GG;
            continue;
        }
        // 제24항, 제25항: verb-stem ㄵ ㄻ ㄼ ㄾ + ㄱ ㄷ ㅅ ㅈ → tensed (앉고 [안꼬], 넓게 [널께], 핥다 [할따]).
        if ((cur.tail == tNJ || cur.tail == tLM || cur.tail == tLB || cur.tail == tLT) && !noun &&
            is_plain_obstruent(nxt.lead) && nxt.lead != B)
            cells[k + 1].tense = true;
    }
    // 제24항 for plain ㄴ/ㅁ verb stems (신다 [신따], 감고 [감꼬]), from the stem list.
    if (!lexicon::is_nasal_stem_lookalike(word)) {
        for (auto stem : lexicon::nasal_verb_stems()) {
            if (!starts_with(word, stem) || word.size() <= stem.size()) continue;
            const std::u32string_view rest = std::u32string_view(word).substr(stem.size());
            bool ok = false;
            for (auto ending : lexicon::nasal_verb_endings()) {
                if (!starts_with(rest, ending)) continue;
                const std::u32string_view tail = rest.substr(ending.size());
                if (tail.empty() || tail == U"요" || tail == U"만" || tail == U"는" || tail == U"도" ||
                    tail == U"요?")
                    ok = true;
            }
            const Syllable last = cells[b + stem.size() - 1].s;
            if (ok && (last.tail == tN || last.tail == tM)) cells[b + stem.size()].tense = true;
        }
    }
    // 제27항 inside a word: -ㄹ걸, -ㄹ수록, -ㄹ지라도 ... and a final -ㄹ게(요).
    static const std::u32string_view kRieulEndings[] = {U"걸", U"밖에", U"세라", U"수록", U"지라도",
                                                        U"지언정", U"진대", U"지도", U"게요"};
    for (size_t k = b; k + 1 < e; ++k) {
        if (cells[k].s.tail != tL) continue;
        const std::u32string_view rest = std::u32string_view(word).substr(k + 1 - b);
        for (auto ending : kRieulEndings)
            if (starts_with(rest, ending) && (ending != U"게요" || rest.size() == 2)) cells[k + 1].tense = true;
        // A sentence-final -ㄹ게 (갈게. 할게!) — not 알게 되다, where 게 is the adverbial ending.
        const bool sentence_end = e == cells.size() || (cells[e].ch != U' ' && cells[e].ch != U'\t');
        if (rest == U"게" && sentence_end) cells[k + 1].tense = true;
    }
}

// Compound coda before a consonant or at the end (제10항, 제11항): the coda that is pronounced.
int simplified_compound(const Cell& cur, const Cell* nxt) {
    const Syllable& s = cur.s;
    switch (s.tail) {
        case tGS: return tG;
        case tNJ: return tN;
        case tLG: return tG;
        case tLM: return tM;
        case tLB: {
            if (cur.original == U'밟') return tB;
            if (cur.original == U'넓' && nxt &&
                (nxt->original == U'죽' || nxt->original == U'둥' || nxt->original == U'적'))
                return tB;
            return tL;
        }
        case tLS: case tLT: return tL;
        case tLP: return tB;
        case tBS: return tB;
        case tNH: return tN;
        case tLH: return tL;
        default: return s.tail;
    }
}

// 제12항 and the regular coda/onset assimilations (제9, 10, 11, 13, 14, 18, 19, 20, 23항) for one pair.
void regular_pair(Cell& c, Cell& n, bool nn_exception) {
    Syllable& cur = c.s;
    Syllable& nxt = n.s;
    const int tail = cur.tail;
    if (tail == kNone) {
        if (n.tense) nxt.lead = tensed(nxt.lead);
        return;
    }
    // Vowel-initial next syllable: 연음 (제13, 14항), ㅎ 탈락 (제12항 4).
    if (nxt.lead == NG) {
        switch (tail) {
            case tNG: return;
            case tH: cur.tail = kNone; return;
            case tNH: cur.tail = kNone; nxt.lead = N; return;
            case tLH: cur.tail = kNone; nxt.lead = R; return;
            case tGS: cur.tail = tG; nxt.lead = SS; return;
            case tNJ: cur.tail = tN; nxt.lead = J; return;
            case tLG: cur.tail = tL; nxt.lead = G; return;
            case tLM: cur.tail = tL; nxt.lead = M; return;
            case tLB: cur.tail = tL; nxt.lead = B; return;
            case tLS: cur.tail = tL; nxt.lead = SS; return;
            case tLT: cur.tail = tL; nxt.lead = T; return;
            case tLP: cur.tail = tL; nxt.lead = P; return;
            case tBS: cur.tail = tB; nxt.lead = SS; return;
            default: nxt.lead = tail_as_lead(tail); cur.tail = kNone; return;
        }
    }
    // ㅎ-final codas (ㅎ ㄶ ㅀ) before a consonant (제12항 1-3).
    if (tail == tH || tail == tNH || tail == tLH) {
        const int rest = tail == tH ? kNone : tail == tNH ? tN : tL;
        if (nxt.lead == G || nxt.lead == D || nxt.lead == J) {
            cur.tail = rest;
            nxt.lead = nxt.lead == G ? K : nxt.lead == D ? T : CH;
        } else if (nxt.lead == S) {
            cur.tail = rest;
            nxt.lead = SS;
        } else if (nxt.lead == N) {
            cur.tail = tail == tH ? tN : rest;
            if (tail == tLH) nxt.lead = R;
        } else {
            cur.tail = rest;
        }
        return;
    }
    // Aspiration: ㄱ ㄷ ㅂ ㅈ (and codas read so) + ㅎ (제12항 1 붙임).
    if (nxt.lead == H) {
        switch (tail) {
            case tG: case tGG: case tK: case tGS: cur.tail = kNone; nxt.lead = K; return;
            case tLG: cur.tail = tL; nxt.lead = K; return;
            case tD: case tS: case tSS: case tCH: case tT: cur.tail = kNone; nxt.lead = T; return;
            case tJ: cur.tail = kNone; nxt.lead = CH; return;
            case tNJ: cur.tail = tN; nxt.lead = CH; return;
            case tB: case tP: cur.tail = kNone; nxt.lead = P; return;
            case tLB: case tLP: cur.tail = tL; nxt.lead = P; return;
            case tBS: cur.tail = tB; nxt.lead = P; return;
            case tLM: cur.tail = tM; return;
            case tLS: case tLT: cur.tail = tL; return;
            default: return;  // ㄴ ㄹ ㅁ ㅇ + ㅎ unchanged
        }
    }
    // Consonant-initial next syllable.
    const int simple = neutralised(simplified_compound(c, &n));
    const bool compound_tense = n.tense;
    cur.tail = simple;
    int& lead = nxt.lead;
    const bool obstruent_coda = simple == tG || simple == tD || simple == tB;
    if (obstruent_coda && is_plain_obstruent(lead)) {
        lead = tensed(lead);  // 제23항
    } else if (obstruent_coda && (lead == N || lead == M)) {
        cur.tail = simple == tG ? tNG : simple == tD ? tN : tM;  // 제18항
    } else if (obstruent_coda && lead == R) {
        lead = N;  // 제19항 붙임
        cur.tail = simple == tG ? tNG : simple == tD ? tN : tM;
    } else if ((simple == tM || simple == tNG) && lead == R) {
        lead = N;  // 제19항
    } else if (simple == tN && lead == R) {
        if (nn_exception) {
            lead = N;  // 제20항 다만
        } else {
            cur.tail = tL;  // 제20항
        }
    } else if (simple == tL && lead == N) {
        lead = R;  // 제20항
    }
    if (compound_tense) lead = tensed(lead);
}

void final_coda(Cell& c) {
    Syllable& s = c.s;
    s.tail = neutralised(simplified_compound(c, nullptr));
}

}  // namespace

std::u32string KoreanG2p::apply(std::u32string_view input) const {
    const std::u32string text = options_.use_lexicon ? apply_lexicon(input) : std::u32string(input);
    std::vector<Cell> cells(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        cells[i].ch = text[i];
        cells[i].original = text[i];
        cells[i].syllable = is_syllable(text[i]);
        if (cells[i].syllable) cells[i].s = decompose(text[i]);
    }
    // Words: maximal runs of syllables.
    std::vector<std::pair<size_t, size_t>> words;
    for (size_t i = 0; i < cells.size();) {
        if (!cells[i].syllable) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < cells.size() && cells[j].syllable) ++j;
        words.emplace_back(i, j);
        i = j;
    }
    // 제27항 across one space: adnominal -ㄹ + bound noun (할 수 [할 쑤], 갈 데 [갈 떼]).
    if (options_.adnominal_tensing) {
        for (size_t w = 0; w + 1 < words.size(); ++w) {
            const auto [b, e] = words[w];
            const auto [nb, ne] = words[w + 1];
            if (nb != e + 1 || cells[e].ch != U' ') continue;
            if (cells[e - 1].s.tail != tL) continue;
            const std::u32string prev = word_text(cells, b, e);
            const std::u32string next = word_text(cells, nb, ne);
            if (lexicon::is_rieul_noun(prev) || !lexicon::is_bound_noun_phrase(next)) continue;
            cells[nb].tense = true;
        }
    }
    for (const auto& [b, e] : words) {
        vowel_rules(cells, b, e, options_);
        special_rules(cells, b, e);
        for (size_t k = b; k + 1 < e; ++k) {
            const bool nn = k > b && lexicon::is_nn_suffix(cells[k + 1].original) &&
                            (cells[k].s.tail == tN) && cells[k + 1].s.lead == R;
            regular_pair(cells[k], cells[k + 1], nn);
        }
        if (cells[b].tense && is_plain_obstruent(cells[b].s.lead)) cells[b].s.lead = tensed(cells[b].s.lead);
        final_coda(cells[e - 1]);
    }
    std::u32string out;
    out.reserve(cells.size());
    for (const auto& c : cells) out.push_back(c.syllable ? compose(c.s) : c.ch);
    return out;
}

std::string KoreanG2p::apply(std::string_view utf8) const { return u32_to_utf8(apply(utf8_to_u32(utf8))); }

}  // namespace troupe::sovits::text
