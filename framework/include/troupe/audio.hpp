// troupe/audio.hpp — WAV reading and writing (libsndfile) and simple audio helpers.
#pragma once

#include <troupe/types.hpp>

#include <string>

namespace troupe {

/// Reads any libsndfile-readable file, mixed down to mono float. Throws Error(invalid_file) naming
/// the file when it cannot be read or holds no samples.
Audio read_wav(const std::string& path);

/// Writes 16-bit PCM mono WAV atomically (temporary file, then rename). Throws Error on failure.
void write_wav(const std::string& path, const Audio& audio);

/// Linear-phase windowed-sinc resampling (Kaiser window); returns `audio` unchanged if rates match.
Audio resample(const Audio& audio, int target_rate);

}  // namespace troupe
