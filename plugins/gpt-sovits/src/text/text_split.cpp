#include "text_split.hpp"

#include "utf8.hpp"

#include <troupe/status.hpp>

#include <algorithm>

namespace troupe::sovits::text {

namespace {

using u32 = std::u32string;

bool is_digit(char32_t c) { return c >= U'0' && c <= U'9'; }

bool in(char32_t c, std::u32string_view set) { return set.find(c) != std::u32string_view::npos; }

// Upstream drops pieces made only of these (cut1–cut5).
bool only_punctuation(std::u32string_view s) {
    return std::all_of(s.begin(), s.end(), [](char32_t c) { return in(c, U"!?…,.- "); });
}

// Python's \w for the characters that matter here: letters and digits of any script, and _.
bool is_word_char(char32_t c) {
    if (c < 0x80) return (c >= U'0' && c <= U'9') || (c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') || c == U'_';
    if (c <= 0xBF || c == 0xD7 || c == 0xF7) return c == 0xAA || c == 0xB5 || c == 0xBA || c == 0xB2 || c == 0xB3 || c == 0xB9 || c == 0xBC || c == 0xBD || c == 0xBE;
    if (c >= 0x2000 && c <= 0x2BFF) return false;  // general punctuation, symbols, arrows, shapes
    if (c >= 0x3000 && c <= 0x303F) return c == 0x3005 || c == 0x3006 || c == 0x3007 || (c >= 0x3021 && c <= 0x3029);
    if ((c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) || (c >= 0xFF3B && c <= 0xFF40 && c != 0xFF3F) ||
        (c >= 0xFF5B && c <= 0xFF65))
        return false;
    if (c >= 0xFE30 && c <= 0xFE4F) return false;
    if (c >= 0x1F000) return false;  // emoji and pictographs
    return true;
}

std::vector<u32> split_after(std::u32string_view text, bool (*is_mark)(std::u32string_view, size_t)) {
    std::vector<u32> items;
    u32 cur;
    for (size_t i = 0; i < text.size(); ++i) {
        cur.push_back(text[i]);
        if (is_mark(text, i)) {
            items.push_back(cur);
            cur.clear();
        }
    }
    if (!cur.empty()) items.push_back(cur);
    return items;
}

bool dot_between_digits(std::u32string_view t, size_t i) {
    return t[i] == U'.' && i > 0 && i + 1 < t.size() && is_digit(t[i - 1]) && is_digit(t[i + 1]);
}

// upstream split(): after every split char, appending 。 when the text does not end in one.
std::vector<u32> split_sentences(u32 text) {
    for (size_t p; (p = text.find(U"……")) != u32::npos;) text.replace(p, 2, U"。");
    for (size_t p; (p = text.find(U"——")) != u32::npos;) text.replace(p, 2, U"，");
    if (text.empty() || !is_split_char(text.back())) text.push_back(U'。');
    return split_after(text, [](std::u32string_view t, size_t i) { return is_split_char(t[i]); });
}

u32 strip(std::u32string_view s, char32_t c) {
    size_t b = 0, e = s.size();
    while (b < e && s[b] == c) ++b;
    while (e > b && s[e - 1] == c) --e;
    return u32(s.substr(b, e - b));
}

u32 join(const std::vector<u32>& items) {
    u32 out;
    for (size_t i = 0; i < items.size(); ++i) {
        if (i) out.push_back(U'\n');
        out += items[i];
    }
    return out;
}

std::vector<u32> drop_punctuation_only(std::vector<u32> items) {
    items.erase(std::remove_if(items.begin(), items.end(), [](const u32& s) { return only_punctuation(s); }),
                items.end());
    return items;
}

std::vector<u32> split_on(std::u32string_view text, bool (*is_sep)(std::u32string_view, size_t)) {
    std::vector<u32> items;
    u32 cur;
    for (size_t i = 0; i < text.size(); ++i) {
        if (is_sep(text, i)) {
            items.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(text[i]);
        }
    }
    items.push_back(cur);
    return items;
}

u32 cut(u32 inp, CutMethod method) {
    inp = strip(inp, U'\n');
    switch (method) {
        case CutMethod::cut0: return inp;
        case CutMethod::cut1: {
            const auto inps = split_sentences(inp);
            std::vector<u32> opts;
            for (size_t i = 0; i < inps.size(); i += 4) {
                u32 group;
                for (size_t k = i; k < std::min(i + 4, inps.size()); ++k) group += inps[k];
                opts.push_back(group);
            }
            if (opts.size() <= 1) opts = {inp};
            return join(drop_punctuation_only(opts));
        }
        case CutMethod::cut2: {
            const auto inps = split_sentences(inp);
            if (inps.size() < 2) return inp;
            std::vector<u32> opts;
            u32 tmp;
            size_t sum = 0;
            for (const auto& s : inps) {
                sum += s.size();
                tmp += s;
                if (sum > 50) {
                    opts.push_back(tmp);
                    tmp.clear();
                    sum = 0;
                }
            }
            if (!tmp.empty()) opts.push_back(tmp);
            if (opts.size() > 1 && opts.back().size() < 50) {
                opts[opts.size() - 2] += opts.back();
                opts.pop_back();
            }
            return join(drop_punctuation_only(opts));
        }
        case CutMethod::cut3:
            return join(drop_punctuation_only(
                split_on(strip(inp, U'。'), [](std::u32string_view t, size_t i) { return t[i] == U'。'; })));
        case CutMethod::cut4:
            return join(drop_punctuation_only(split_on(strip(inp, U'.'), [](std::u32string_view t, size_t i) {
                return t[i] == U'.' && !(i > 0 && is_digit(t[i - 1])) && !(i + 1 < t.size() && is_digit(t[i + 1]));
            })));
        case CutMethod::cut5: {
            auto items = split_after(inp, [](std::u32string_view t, size_t i) {
                return in(t[i], U",.;?!、，。？！;：…") && !dot_between_digits(t, i);
            });
            items.erase(std::remove_if(items.begin(), items.end(),
                                       [](const u32& s) {
                                           return std::all_of(s.begin(), s.end(), [](char32_t c) {
                                               return in(c, U",.;?!、，。？！;：…");
                                           });
                                       }),
                        items.end());
            return join(items);
        }
        case CutMethod::sentences: {
            auto items = split_after(inp, [](std::u32string_view t, size_t i) {
                if (!in(t[i], U".?!。？！…~\n") || dot_between_digits(t, i)) return false;
                // keep runs of marks together ("?!", "...")
                return !(i + 1 < t.size() && in(t[i + 1], U".?!。？！…~"));
            });
            for (auto& s : items) s = strip(s, U'\n');
            return join(drop_punctuation_only(items));
        }
    }
    return inp;
}

}  // namespace

CutMethod parse_cut_method(std::string_view name) {
    static const std::pair<const char*, CutMethod> kNames[] = {
        {"cut0", CutMethod::cut0}, {"cut1", CutMethod::cut1}, {"cut2", CutMethod::cut2},
        {"cut3", CutMethod::cut3}, {"cut4", CutMethod::cut4}, {"cut5", CutMethod::cut5},
        {"sentences", CutMethod::sentences}};
    for (const auto& [n, m] : kNames)
        if (name == n) return m;
    throw Error(Errc::invalid_argument,
                "unknown text split method '" + std::string(name) + "' (use cut0..cut5 or sentences)");
}

const char* cut_method_name(CutMethod method) {
    switch (method) {
        case CutMethod::cut0: return "cut0";
        case CutMethod::cut1: return "cut1";
        case CutMethod::cut2: return "cut2";
        case CutMethod::cut3: return "cut3";
        case CutMethod::cut4: return "cut4";
        case CutMethod::cut5: return "cut5";
        case CutMethod::sentences: return "sentences";
    }
    return "?";
}

bool is_split_char(char32_t c) { return in(c, U"，。？！,.?!~:：—…"); }

std::string cut_text(std::string_view text, CutMethod method) { return u32_to_utf8(cut(utf8_to_u32(text), method)); }

std::string replace_consecutive_punctuation(std::string_view text) {
    const u32 t = utf8_to_u32(text);
    u32 out;
    for (size_t i = 0; i < t.size(); ++i) {
        if (i > 0 && in(t[i], U"!?…,.-") && !out.empty() && in(out.back(), U"!?…,.-") && in(t[i - 1], U"!?…,.-"))
            continue;
        out.push_back(t[i]);
    }
    return u32_to_utf8(out);
}

std::vector<std::string> merge_short_text_in_array(const std::vector<std::string>& texts, size_t threshold) {
    if (texts.size() < 2) return texts;
    std::vector<std::string> result;
    std::string text;
    size_t len = 0;
    for (const auto& e : texts) {
        text += e;
        len += utf8_to_u32(e).size();
        if (len >= threshold) {
            result.push_back(text);
            text.clear();
            len = 0;
        }
    }
    if (!text.empty()) {
        if (result.empty()) result.push_back(text);
        else result.back() += text;
    }
    return result;
}

std::vector<std::string> split_big_text(std::string_view text, size_t max_len) {
    const u32 t = utf8_to_u32(text);
    // re.split with a capturing group: alternating text / mark pieces.
    std::vector<u32> segments;
    u32 cur;
    for (char32_t c : t) {
        if (is_split_char(c)) {
            segments.push_back(cur);
            segments.push_back(u32(1, c));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    segments.push_back(cur);
    std::vector<std::string> result;
    u32 current;
    for (const auto& s : segments) {
        if (current.size() + s.size() > max_len) {
            result.push_back(u32_to_utf8(current));
            current = s;
        } else {
            current += s;
        }
    }
    if (!current.empty()) result.push_back(u32_to_utf8(current));
    return result;
}

std::vector<std::string> pre_seg_text(std::string_view input, CutMethod method, bool english) {
    u32 text = strip(utf8_to_u32(input), U'\n');
    if (text.empty()) throw Error(Errc::invalid_argument, "text is empty");
    const char32_t stop = english ? U'.' : U'。';
    // A first sentence shorter than 4 characters gets a leading stop (upstream: get_first).
    if (!is_split_char(text[0])) {
        size_t first_end = 0;
        while (first_end < text.size() && !is_split_char(text[first_end])) ++first_end;
        u32 first = text.substr(0, first_end);
        first = strip(strip(first, U' '), U'\n');
        if (first.size() < 4) text.insert(text.begin(), stop);
    }
    u32 cut_result = cut(text, method);
    for (size_t p; (p = cut_result.find(U"\n\n")) != u32::npos;) cut_result.replace(p, 2, U"\n");
    std::vector<std::string> parts;
    for (const auto& p : split_on(cut_result, [](std::u32string_view t, size_t i) { return t[i] == U'\n'; }))
        if (!p.empty() && p != U" ") parts.push_back(u32_to_utf8(p));
    if (parts.empty()) throw Error(Errc::invalid_argument, "text has nothing to speak");
    parts = merge_short_text_in_array(parts, 5);
    std::vector<std::string> result;
    for (const auto& part : parts) {
        u32 p = utf8_to_u32(part);
        const bool has_word = std::any_of(p.begin(), p.end(), is_word_char);
        const bool blank = std::all_of(p.begin(), p.end(), [](char32_t c) { return c == U' ' || c == U'\n' || c == U'\t'; });
        if (blank || !has_word) continue;
        if (!is_split_char(p.back())) p.push_back(stop);
        if (p.size() > 510) {
            for (auto& piece : split_big_text(u32_to_utf8(p))) result.push_back(piece);
        } else {
            result.push_back(u32_to_utf8(p));
        }
    }
    if (result.empty()) throw Error(Errc::invalid_argument, "text has nothing to speak");
    return result;
}

}  // namespace troupe::sovits::text
