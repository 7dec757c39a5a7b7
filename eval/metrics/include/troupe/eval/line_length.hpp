// troupe/eval/line_length.hpp — answer length in Unicode code points after NFC (never NFD).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace troupe::eval {

struct LineLength {
    size_t with_spaces = 0, without_spaces = 0;
};
/// Length of an answer body (callers strip `###` headers / speaker tags first, see loose_trim).
LineLength line_length(const std::string& text);

struct LengthStats {
    size_t n = 0;
    double mean = 0, q1 = 0, q3 = 0, iqr = 0, min = 0, max = 0;
    double share_in_range = 0;  // share with lo <= length <= hi
    double lo = 50, hi = 90;
};
LengthStats length_stats(const std::vector<double>& lengths, double lo = 50, double hi = 90);

}  // namespace troupe::eval
