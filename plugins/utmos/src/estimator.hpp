// estimator.hpp — the `utmos` troupe::QualityEstimator: resample to 16 kHz, UTMOS22 strong score.
#pragma once

#include "utmos.hpp"

#include <troupe/plugin.hpp>

#include <memory>
#include <string>

namespace troupe::utmos {

/// What the estimate is called in reports: a model's prediction, not a listening test.
inline constexpr const char* kMethod = "predicted MOS (UTMOS22)";

/// Params: "model.file" (required: SpeechMOS' utmos22_strong_step7459_v1.pt, or the same tensors as
/// .safetensors), "device" ("cpu" default, "cuda", "cuda:N"). The estimate's method is kMethod.
class UtmosEstimator final : public QualityEstimator {
public:
    explicit UtmosEstimator(const Params& params);  // throws Error
    Status estimate(const Audio& audio, QualityEstimate& out) noexcept override;
    std::string describe() const noexcept override;

    QualityEstimate estimate_or_throw(const Audio& audio) const;
    const Predictor& predictor() const { return *predictor_; }

private:
    std::unique_ptr<Predictor> predictor_;
    std::string description_;
};

}  // namespace troupe::utmos
