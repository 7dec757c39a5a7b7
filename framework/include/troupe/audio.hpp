// troupe/audio.hpp — WAV reading and writing (libsndfile) and simple audio helpers.
#pragma once

#include <troupe/types.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

namespace troupe {

/// Reads any libsndfile-readable file, mixed down to mono float. Throws Error(invalid_file) naming
/// the file when it cannot be read or holds no samples.
Audio read_wav(const std::string& path);

/// Writes 16-bit PCM mono WAV atomically (temporary file, then rename). Throws Error on failure.
void write_wav(const std::string& path, const Audio& audio);

/// Samples (clipped to [-1, 1]; non-finite → 0) as 16-bit little-endian PCM bytes.
std::string pcm16_le(const float* samples, size_t count);
/// The 44-byte header of a 16-bit PCM mono WAV holding `data_bytes` of samples. A stream of unknown
/// length uses kWavUnknownLength, which players reading a pipe (aplay, ffplay, mpv, sox) accept.
constexpr uint32_t kWavUnknownLength = 0xFFFFFFFFu;
std::string wav_header(int sample_rate, uint32_t data_bytes);

/// 16-bit PCM mono WAV written as audio arrives (streaming synthesis). A file gets its header first
/// with "unknown length" sizes and every piece appended and flushed, so a player may read it while
/// it grows; close() fixes the sizes. Path "-" writes to stdout (sizes stay "unknown"). With `raw`,
/// no header at all (s16le samples only). Throws Error naming the path when it cannot write.
class WavStreamWriter {
public:
    WavStreamWriter(const std::string& path, int sample_rate, bool raw = false);
    ~WavStreamWriter();
    WavStreamWriter(const WavStreamWriter&) = delete;
    WavStreamWriter& operator=(const WavStreamWriter&) = delete;
    void write(const float* samples, size_t count);
    /// Flushes and, for a file with a header, writes the real sizes. Called by the destructor too.
    void close();
    uint64_t samples() const { return samples_; }

private:
    std::string path_;
    void* file_ = nullptr;  // FILE*
    bool raw_ = false, owned_ = false;
    uint64_t samples_ = 0;
};

/// Linear-phase windowed-sinc resampling (Kaiser window); returns `audio` unchanged if rates match.
Audio resample(const Audio& audio, int target_rate);

}  // namespace troupe
