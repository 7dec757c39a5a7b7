#include <troupe/eval/stats.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

namespace troupe::eval {

double mean(const std::vector<double>& values) {
    if (values.empty()) return 0;
    return std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
}

double quantile(std::vector<double> values, double q) {
    if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
    std::sort(values.begin(), values.end());
    double pos = std::clamp(q, 0.0, 1.0) * double(values.size() - 1);
    size_t lo = size_t(std::floor(pos)), hi = size_t(std::ceil(pos));
    double frac = pos - double(lo);
    return values[lo] + (values[hi] - values[lo]) * frac;
}

double median(const std::vector<double>& values) { return quantile(values, 0.5); }

Interval wilson(size_t k, size_t n, double z) {
    if (n == 0) return {0, 1};
    double p = double(k) / double(n), nn = double(n), z2 = z * z;
    double denom = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / denom;
    double half = z * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / denom;
    return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Interval bootstrap_mean(const std::vector<double>& values, size_t iterations, unsigned seed) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    if (values.empty()) return {nan, nan};
    if (values.size() == 1) return {values[0], values[0]};
    std::mt19937 gen(seed);
    std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
    std::vector<double> means(iterations);
    for (size_t it = 0; it < iterations; ++it) {
        double sum = 0;
        for (size_t i = 0; i < values.size(); ++i) sum += values[pick(gen)];
        means[it] = sum / double(values.size());
    }
    return {quantile(means, 0.025), quantile(means, 0.975)};
}

double jensen_shannon(const std::vector<double>& p_in, const std::vector<double>& q_in) {
    size_t n = std::max(p_in.size(), q_in.size());
    std::vector<double> p(n, 0), q(n, 0);
    std::copy(p_in.begin(), p_in.end(), p.begin());
    std::copy(q_in.begin(), q_in.end(), q.begin());
    double sp = std::accumulate(p.begin(), p.end(), 0.0), sq = std::accumulate(q.begin(), q.end(), 0.0);
    if (sp <= 0 || sq <= 0) return std::numeric_limits<double>::quiet_NaN();
    double js = 0;
    for (size_t i = 0; i < n; ++i) {
        double a = p[i] / sp, b = q[i] / sq, m = (a + b) / 2;
        if (a > 0) js += 0.5 * a * std::log2(a / m);
        if (b > 0) js += 0.5 * b * std::log2(b / m);
    }
    return std::max(0.0, js);
}

std::vector<size_t> histogram(const std::vector<double>& values, double lo, double hi, size_t bins) {
    std::vector<size_t> out(bins, 0);
    if (bins == 0 || hi <= lo) return out;
    for (double v : values) {
        if (!std::isfinite(v)) continue;
        long b = long(std::floor((v - lo) / (hi - lo) * double(bins)));
        out[size_t(std::clamp(b, 0L, long(bins) - 1))]++;
    }
    return out;
}

}  // namespace troupe::eval
