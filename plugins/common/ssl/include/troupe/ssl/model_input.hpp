// troupe/ssl/model_input.hpp — the audio a scorer plugin (transcriber, speaker encoder, quality
// estimator) is handed, checked and resampled to its model's rate, with the same errors in every plugin.
#pragma once

#include <troupe/types.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace troupe::ssl {

/// `audio` resampled (ssl::resample) to `rate` Hz. Throws Error(invalid_argument) "<plugin>: audio has no
/// sample rate", "… is empty", "… contains NaN or infinity", or "… too short (S s)" when fewer than
/// `min_samples` samples remain after resampling.
std::vector<float> model_input(const Audio& audio, int rate, const std::string& plugin, int64_t min_samples = 0);

}  // namespace troupe::ssl
