// troupe/eval/latency.hpp — latency distribution of the timed calls (warm runs only; model load
// and the first warm-up call are measured and reported apart by the harness).
#pragma once

#include <cstddef>
#include <vector>

namespace troupe::eval {

struct LatencyStats {
    size_t n = 0;
    double mean = 0, p50 = 0, p90 = 0, p95 = 0, max = 0;
    double share_within = 0;  // share of calls with latency <= limit
    double limit = 0;
};

LatencyStats latency_stats(const std::vector<double>& seconds, double limit_seconds = 30.0);

}  // namespace troupe::eval
