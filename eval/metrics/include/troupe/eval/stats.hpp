// troupe/eval/stats.hpp — small statistics shared by the metrics.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace troupe::eval {

double mean(const std::vector<double>& values);  // 0 for empty
/// Linear-interpolated quantile (numpy "linear", q in [0,1]); NaN for empty input.
double quantile(std::vector<double> values, double q);
double median(const std::vector<double>& values);

/// Wilson score interval for k successes out of n at 95 % (z = 1.96); {0,1} when n == 0.
struct Interval {
    double low = 0, high = 1;
};
Interval wilson(size_t k, size_t n, double z = 1.959964);
/// 95 % percentile-bootstrap interval of the mean (deterministic: a fixed-seed generator, `iterations`
/// resamples); {x, x} for one value, {NaN, NaN} for none.
Interval bootstrap_mean(const std::vector<double>& values, size_t iterations = 2000, unsigned seed = 1234);

/// Jensen–Shannon divergence with log base 2 (bounded in [0, 1]). Inputs are normalised counts;
/// all-zero distributions give NaN.
double jensen_shannon(const std::vector<double>& p, const std::vector<double>& q);

/// Fixed-width histogram of `values` over [lo, hi) with `bins` bins; values outside go to the edge bins.
std::vector<size_t> histogram(const std::vector<double>& values, double lo, double hi, size_t bins);

}  // namespace troupe::eval
