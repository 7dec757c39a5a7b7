// A signal-level failure detector exposed as a quality estimator. It is NOT a MOS predictor: the
// score is 1 when no deterministic check fires and 0 otherwise; the details carry every measure.
#pragma once

#include <troupe/eval/signal_checks.hpp>
#include <troupe/plugin.hpp>

namespace troupe::signal_quality {

class SignalQuality final : public QualityEstimator {
public:
    explicit SignalQuality(const Params& params);
    Status estimate(const Audio& audio, QualityEstimate& out) noexcept override;
    std::string describe() const noexcept override;

private:
    eval::SignalThresholds thresholds_;
    double flatness_max_ = 0.5;
};

/// Median spectral flatness over speech frames (16 kHz analysis, 512-point FFT).
double median_speech_flatness(const Audio& audio);

}  // namespace troupe::signal_quality
