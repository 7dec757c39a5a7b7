#include <troupe/eval/line_length.hpp>

#include <troupe/eval/stats.hpp>
#include <troupe/eval/unicode.hpp>

#include <algorithm>

namespace troupe::eval {

LineLength line_length(const std::string& text) {
    std::u32string cps = nfc(utf8_decode(text));
    // trim surrounding whitespace; inner whitespace counts in `with_spaces`
    size_t b = 0, e = cps.size();
    while (b < e && is_space(cps[b])) ++b;
    while (e > b && is_space(cps[e - 1])) --e;
    LineLength l;
    for (size_t i = b; i < e; ++i) {
        ++l.with_spaces;
        if (!is_space(cps[i])) ++l.without_spaces;
    }
    return l;
}

LengthStats length_stats(const std::vector<double>& lengths, double lo, double hi) {
    LengthStats s;
    s.lo = lo;
    s.hi = hi;
    s.n = lengths.size();
    if (lengths.empty()) return s;
    s.mean = mean(lengths);
    s.q1 = quantile(lengths, 0.25);
    s.q3 = quantile(lengths, 0.75);
    s.iqr = s.q3 - s.q1;
    s.min = *std::min_element(lengths.begin(), lengths.end());
    s.max = *std::max_element(lengths.begin(), lengths.end());
    s.share_in_range =
        double(std::count_if(lengths.begin(), lengths.end(), [&](double v) { return v >= lo && v <= hi; })) /
        double(lengths.size());
    return s;
}

}  // namespace troupe::eval
