#include <troupe/eval/distinctiveness.hpp>

#include <troupe/eval/unicode.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_set>

namespace troupe::eval {

CharNgramNB::CharNgramNB(int min_n, int max_n, double alpha) : min_n_(min_n), max_n_(max_n), alpha_(alpha) {}

std::vector<std::string> CharNgramNB::ngrams(const std::string& text) const {
    std::u32string s = nfc(utf8_decode(text));
    // collapse whitespace runs, add boundary markers
    std::u32string t = U"\u0002";
    for (char32_t c : s) {
        if (is_space(c)) {
            if (t.back() != U' ') t.push_back(U' ');
        } else {
            t.push_back(to_lower(c));
        }
    }
    t.push_back(U'\u0003');
    std::vector<std::string> out;
    for (int n = min_n_; n <= max_n_; ++n)
        for (size_t i = 0; i + size_t(n) <= t.size(); ++i) out.push_back(utf8_encode(t.substr(i, size_t(n))));
    return out;
}

void CharNgramNB::fit(const std::vector<LabelledLine>& lines) {
    std::set<std::string> label_set;
    for (const auto& l : lines) label_set.insert(l.label);
    labels_.assign(label_set.begin(), label_set.end());
    counts_.assign(labels_.size(), {});
    totals_.assign(labels_.size(), 0);
    std::vector<double> docs(labels_.size(), 0);
    std::unordered_set<std::string> vocab;
    for (const auto& l : lines) {
        size_t k = size_t(std::lower_bound(labels_.begin(), labels_.end(), l.label) - labels_.begin());
        docs[k] += 1;
        for (const auto& g : ngrams(l.text)) {
            counts_[k][g] += 1;
            totals_[k] += 1;
            vocab.insert(g);
        }
    }
    vocabulary_ = vocab.size();
    log_prior_.assign(labels_.size(), 0);
    for (size_t k = 0; k < labels_.size(); ++k) log_prior_[k] = std::log(docs[k] / double(lines.size()));
}

std::string CharNgramNB::predict(const std::string& text) const {
    if (labels_.empty()) return {};
    auto grams = ngrams(text);
    double best = -std::numeric_limits<double>::infinity();
    size_t best_k = 0;
    for (size_t k = 0; k < labels_.size(); ++k) {
        double denom = std::log(totals_[k] + alpha_ * double(vocabulary_ + 1));
        double score = log_prior_[k];
        for (const auto& g : grams) {
            auto it = counts_[k].find(g);
            double c = it == counts_[k].end() ? 0 : it->second;
            score += std::log(c + alpha_) - denom;
        }
        if (score > best) { best = score; best_k = k; }  // ties: first label in sorted order
    }
    return labels_[best_k];
}

DistinctivenessResult cross_validate(const std::vector<LabelledLine>& lines, int folds) {
    DistinctivenessResult r;
    r.n = lines.size();
    std::set<std::string> label_set, group_set;
    for (const auto& l : lines) { label_set.insert(l.label); group_set.insert(l.group); }
    r.labels.assign(label_set.begin(), label_set.end());
    if (r.labels.size() < 2) { r.reason = "needs lines from at least 2 characters"; return r; }
    if (group_set.size() < 2) { r.reason = "needs at least 2 situations to split folds by situation"; return r; }
    std::vector<std::string> groups(group_set.begin(), group_set.end());
    r.folds = size_t(std::min<int>(std::max(folds, 2), int(groups.size())));
    std::map<std::string, size_t> fold_of;
    for (size_t i = 0; i < groups.size(); ++i) fold_of[groups[i]] = i % r.folds;

    const size_t K = r.labels.size();
    r.confusion.assign(K, std::vector<size_t>(K, 0));
    auto index = [&](const std::string& label) {
        return size_t(std::lower_bound(r.labels.begin(), r.labels.end(), label) - r.labels.begin());
    };
    for (size_t f = 0; f < r.folds; ++f) {
        std::vector<LabelledLine> train;
        for (const auto& l : lines)
            if (fold_of[l.group] != f) train.push_back(l);
        CharNgramNB nb;
        nb.fit(train);
        for (const auto& l : lines)
            if (fold_of[l.group] == f) r.confusion[index(l.label)][index(nb.predict(l.text))]++;
    }
    size_t correct = 0, largest = 0;
    double f1_sum = 0;
    for (size_t k = 0; k < K; ++k) {
        correct += r.confusion[k][k];
        size_t row = 0, col = 0;
        for (size_t j = 0; j < K; ++j) { row += r.confusion[k][j]; col += r.confusion[j][k]; }
        largest = std::max(largest, row);
        double precision = col ? double(r.confusion[k][k]) / double(col) : 0;
        double recall = row ? double(r.confusion[k][k]) / double(row) : 0;
        f1_sum += precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
    }
    r.accuracy = double(correct) / double(r.n);
    r.macro_f1 = f1_sum / double(K);
    r.chance = 1.0 / double(K);
    r.majority = double(largest) / double(r.n);
    r.chance_corrected = (r.accuracy - r.chance) / (1 - r.chance);
    r.ok = true;
    return r;
}

}  // namespace troupe::eval
