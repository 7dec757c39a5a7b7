#include <troupe/eval/latency.hpp>

#include <troupe/eval/stats.hpp>

#include <algorithm>

namespace troupe::eval {

LatencyStats latency_stats(const std::vector<double>& seconds, double limit_seconds) {
    LatencyStats s;
    s.limit = limit_seconds;
    s.n = seconds.size();
    if (seconds.empty()) return s;
    s.mean = mean(seconds);
    s.p50 = quantile(seconds, 0.5);
    s.p90 = quantile(seconds, 0.9);
    s.p95 = quantile(seconds, 0.95);
    s.max = *std::max_element(seconds.begin(), seconds.end());
    s.share_within = double(std::count_if(seconds.begin(), seconds.end(), [&](double v) { return v <= limit_seconds; })) /
                     double(seconds.size());
    return s;
}

}  // namespace troupe::eval
