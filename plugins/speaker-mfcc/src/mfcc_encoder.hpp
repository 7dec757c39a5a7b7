// A weight-free speaker embedding (a PROXY, not a speaker-verification model): statistics of MFCCs
// and log-mel energies over the speech frames of 16 kHz audio, mapped to a fixed size by a seeded
// Gaussian random projection (which keeps cosine similarities on average) or by a learned linear
// projection loaded from a JSON file.
#pragma once

#include <troupe/plugin.hpp>

#include <string>
#include <vector>

namespace troupe::speaker_mfcc {

/// The statistics vector (78 values): mean and std of MFCC 1..19 and the mean log-mel shape (40,
/// mean-removed), over frames within 40 dB of the loudest frame.
std::vector<double> speaker_statistics(const Audio& audio, int sample_rate = 16000);
constexpr size_t kStatisticsSize = 19 * 2 + 40;

class MfccEncoder final : public SpeakerEncoder {
public:
    explicit MfccEncoder(const Params& params);
    Status embed(const Audio& audio, std::vector<float>& embedding) noexcept override;
    std::string describe() const noexcept override { return description_; }

private:
    int sample_rate_ = 16000;
    size_t dim_ = 192;
    std::vector<double> projection_;  // [dim][kStatisticsSize]
    std::string description_;
};

}  // namespace troupe::speaker_mfcc
