#include <troupe/ssl/model_input.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>

#include <cmath>

namespace troupe::ssl {

std::vector<float> model_input(const Audio& audio, int rate, const std::string& plugin, int64_t min_samples) {
    if (audio.sample_rate <= 0) throw Error(Errc::invalid_argument, plugin + ": audio has no sample rate");
    if (audio.samples.empty()) throw Error(Errc::invalid_argument, plugin + ": audio is empty");
    for (float s : audio.samples)
        if (!std::isfinite(s)) throw Error(Errc::invalid_argument, plugin + ": audio contains NaN or infinity");
    std::vector<float> samples = resample(audio.samples, audio.sample_rate, rate);
    if (int64_t(samples.size()) < min_samples)
        throw Error(Errc::invalid_argument, fmt::format("{}: audio too short ({:.3f} s)", plugin, audio.seconds()));
    return samples;
}

}  // namespace troupe::ssl
