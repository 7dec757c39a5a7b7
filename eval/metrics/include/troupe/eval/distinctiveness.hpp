// troupe/eval/distinctiveness.hpp — persona distinctiveness: can a character-n-gram classifier tell
// which character said a line? Multinomial naive Bayes over NFC code-point 1–3-grams (with line-boundary
// markers), Laplace smoothing, cross-validated with folds split by situation (group k-fold), so that
// a situation's topic never sits in both the training and the test fold.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace troupe::eval {

struct LabelledLine {
    std::string label;  // character id
    std::string group;  // situation: lines of one group stay in one fold
    std::string text;
};

/// Multinomial NB over char n-grams; usable on its own (fit, then predict).
class CharNgramNB {
public:
    explicit CharNgramNB(int min_n = 1, int max_n = 3, double alpha = 1.0);
    void fit(const std::vector<LabelledLine>& lines);
    std::string predict(const std::string& text) const;
    const std::vector<std::string>& labels() const { return labels_; }

private:
    std::vector<std::string> ngrams(const std::string& text) const;
    int min_n_, max_n_;
    double alpha_;
    std::vector<std::string> labels_;
    std::vector<double> log_prior_;
    std::vector<std::map<std::string, double>> counts_;
    std::vector<double> totals_;
    size_t vocabulary_ = 0;
};

struct DistinctivenessResult {
    bool ok = false;
    std::string reason;                 // why not computed (too few groups/labels)
    size_t n = 0, folds = 0;
    std::vector<std::string> labels;    // order of the confusion matrix rows/cols
    std::vector<std::vector<size_t>> confusion;  // [true][predicted]
    double accuracy = 0, macro_f1 = 0;
    double chance = 0;                  // 1/K
    double majority = 0;                // share of the largest class (the trivial classifier)
    double chance_corrected = 0;        // (acc − 1/K) / (1 − 1/K)
};

/// Group k-fold (k = min(folds, number of groups)); groups are assigned to folds round-robin in
/// sorted order, so the result is deterministic.
DistinctivenessResult cross_validate(const std::vector<LabelledLine>& lines, int folds = 5);

}  // namespace troupe::eval
