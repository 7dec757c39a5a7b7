// troupe/eval/copy_rate.hpp — share of generated lines that repeat a training line verbatim
// (after NFC and whitespace collapsing) or nearly (character-3-gram Jaccard ≥ threshold).
#pragma once

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace troupe::eval {

/// Normalised form used for the exact match: NFC, whitespace runs collapsed, trimmed.
std::string copy_key(const std::string& line);
/// Jaccard similarity of the two lines' character-3-gram sets (spaces removed); 1 for two empty lines.
double char_jaccard(const std::string& a, const std::string& b, int n = 3);

class CopyIndex {
public:
    explicit CopyIndex(const std::vector<std::string>& training_lines, int n = 3);
    struct Match {
        bool exact = false;
        double best_jaccard = 0;
        long best_index = -1;  // index into the training lines, -1 when none share an n-gram
    };
    Match match(const std::string& line) const;
    size_t size() const { return lines_.size(); }

private:
    int n_;
    std::vector<std::string> lines_;
    std::vector<std::vector<std::string>> grams_;  // sorted unique per line
    std::unordered_set<std::string> exact_;
    std::unordered_map<std::string, std::vector<size_t>> postings_;
};

struct CopyRate {
    size_t n = 0, exact = 0, near = 0;  // near includes exact
    double exact_rate = 0, near_rate = 0, threshold = 0.8;
};
CopyRate copy_rate(const CopyIndex& index, const std::vector<std::string>& generated, double threshold = 0.8);

}  // namespace troupe::eval
