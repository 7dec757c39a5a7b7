#include <troupe/eval/copy_rate.hpp>

#include <troupe/eval/unicode.hpp>

#include <algorithm>

namespace troupe::eval {
namespace {

std::vector<std::string> gram_set(const std::string& line, int n) {
    std::u32string s;
    for (char32_t c : nfc(utf8_decode(line)))
        if (!is_space(c)) s.push_back(to_lower(c));
    std::vector<std::string> out;
    if (s.empty()) return out;
    if (s.size() < size_t(n)) out.push_back(utf8_encode(s));
    for (size_t i = 0; i + size_t(n) <= s.size(); ++i) out.push_back(utf8_encode(s.substr(i, size_t(n))));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

double jaccard_sorted(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    if (a.empty() && b.empty()) return 1;
    size_t i = 0, j = 0, inter = 0;
    while (i < a.size() && j < b.size()) {
        if (a[i] == b[j]) { ++inter; ++i; ++j; }
        else if (a[i] < b[j]) ++i;
        else ++j;
    }
    return double(inter) / double(a.size() + b.size() - inter);
}

}  // namespace

std::string copy_key(const std::string& line) {
    std::u32string out;
    for (char32_t c : nfc(utf8_decode(line))) {
        if (is_space(c)) {
            if (!out.empty() && out.back() != U' ') out.push_back(U' ');
        } else {
            out.push_back(c);
        }
    }
    while (!out.empty() && out.back() == U' ') out.pop_back();
    return utf8_encode(out);
}

double char_jaccard(const std::string& a, const std::string& b, int n) {
    return jaccard_sorted(gram_set(a, n), gram_set(b, n));
}

CopyIndex::CopyIndex(const std::vector<std::string>& training_lines, int n) : n_(n), lines_(training_lines) {
    grams_.reserve(lines_.size());
    for (size_t i = 0; i < lines_.size(); ++i) {
        exact_.insert(copy_key(lines_[i]));
        grams_.push_back(gram_set(lines_[i], n_));
        for (const auto& g : grams_.back()) postings_[g].push_back(i);
    }
}

CopyIndex::Match CopyIndex::match(const std::string& line) const {
    Match m;
    m.exact = exact_.count(copy_key(line)) > 0;
    auto grams = gram_set(line, n_);
    std::unordered_map<size_t, size_t> shared;
    for (const auto& g : grams) {
        auto it = postings_.find(g);
        if (it == postings_.end()) continue;
        for (size_t idx : it->second) shared[idx]++;
    }
    for (const auto& [idx, inter] : shared) {
        double j = double(inter) / double(grams.size() + grams_[idx].size() - inter);
        if (j > m.best_jaccard || (j == m.best_jaccard && long(idx) < m.best_index)) {
            m.best_jaccard = j;
            m.best_index = long(idx);
        }
    }
    if (m.exact) m.best_jaccard = std::max(m.best_jaccard, 1.0);
    return m;
}

CopyRate copy_rate(const CopyIndex& index, const std::vector<std::string>& generated, double threshold) {
    CopyRate r;
    r.threshold = threshold;
    r.n = generated.size();
    for (const auto& line : generated) {
        auto m = index.match(line);
        if (m.exact) r.exact++;
        if (m.exact || m.best_jaccard >= threshold) r.near++;
    }
    if (r.n) {
        r.exact_rate = double(r.exact) / double(r.n);
        r.near_rate = double(r.near) / double(r.n);
    }
    return r;
}

}  // namespace troupe::eval
