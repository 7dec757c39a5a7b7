// Internal: audio as response bytes (16-bit PCM WAV, or raw little-endian PCM).
#pragma once

#include <troupe/types.hpp>

#include <string>

namespace troupe::server {

/// Samples clipped to [-1, 1] as 16-bit little-endian PCM.
std::string pcm16_bytes(const Audio& audio);
/// A complete RIFF/WAVE file (mono, 16-bit PCM).
std::string wav_bytes(const Audio& audio);

}  // namespace troupe::server
