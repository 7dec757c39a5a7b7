#include <troupe/audio.hpp>
#include <troupe/status.hpp>

#include <fmt/format.h>
#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace troupe {

Audio read_wav(const std::string& path) {
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    if (!file) throw Error(Errc::invalid_file, fmt::format("{}: cannot read audio: {}", path, sf_strerror(nullptr)));
    if (info.channels <= 0 || info.samplerate <= 0 || info.frames <= 0) {
        sf_close(file);
        throw Error(Errc::invalid_file, fmt::format("{}: no audio samples", path));
    }
    if (info.frames > int64_t(info.samplerate) * 3600) {
        sf_close(file);
        throw Error(Errc::invalid_file, fmt::format("{}: longer than an hour", path));
    }
    // Read in blocks: the frame count is the header's claim (a FLAC or AU header can claim hours that
    // the file does not hold), so memory grows with what is really decoded, never with the claim.
    // A short clip gets a buffer of its size (no 256 KB buffer zeroed for a few samples).
    const sf_count_t kBlock = std::min<sf_count_t>(info.frames, std::max<sf_count_t>(1, 65536 / info.channels));
    std::vector<float> block(size_t(kBlock) * size_t(info.channels));
    Audio audio;
    audio.sample_rate = info.samplerate;
    for (sf_count_t left = info.frames; left > 0;) {
        const sf_count_t got = sf_readf_float(file, block.data(), std::min(left, kBlock));
        if (got <= 0) break;
        for (sf_count_t i = 0; i < got; ++i) {
            float sum = 0;
            for (int c = 0; c < info.channels; ++c) sum += block[size_t(i) * info.channels + c];
            audio.samples.push_back(sum / float(info.channels));
        }
        left -= got;
    }
    sf_close(file);
    if (audio.samples.empty()) throw Error(Errc::invalid_file, fmt::format("{}: could not decode samples", path));
    return audio;
}

void write_wav(const std::string& path, const Audio& audio) {
    if (audio.sample_rate <= 0) throw Error(Errc::invalid_argument, path + ": audio has no sample rate");
    const std::string tmp = path + ".tmp";
    SF_INFO info{};
    info.samplerate = audio.sample_rate;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE* file = sf_open(tmp.c_str(), SFM_WRITE, &info);
    if (!file) throw Error(Errc::runtime, fmt::format("{}: cannot write: {}", path, sf_strerror(nullptr)));
    std::vector<float> clipped(audio.samples.size());
    for (size_t i = 0; i < clipped.size(); ++i) {
        float v = audio.samples[i];
        clipped[i] = std::isfinite(v) ? std::max(-1.0f, std::min(1.0f, v)) : 0.0f;
    }
    sf_count_t written = sf_writef_float(file, clipped.data(), sf_count_t(clipped.size()));
    sf_close(file);
    if (written != sf_count_t(clipped.size()) || std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw Error(Errc::runtime, fmt::format("{}: write failed", path));
    }
}

namespace {
void put_le(std::string& out, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
}  // namespace

std::string pcm16_le(const float* samples, size_t count) {
    std::string out;
    out.reserve(count * 2);
    for (size_t i = 0; i < count; ++i) {
        const float c = std::isfinite(samples[i]) ? std::max(-1.0f, std::min(1.0f, samples[i])) : 0.0f;
        put_le(out, uint32_t(uint16_t(int16_t(std::lrint(c * 32767.0f)))), 2);
    }
    return out;
}

std::string wav_header(int sample_rate, uint32_t data_bytes) {
    std::string out = "RIFF";
    put_le(out, data_bytes == kWavUnknownLength ? kWavUnknownLength : 36 + data_bytes, 4);
    out += "WAVEfmt ";
    put_le(out, 16, 4);
    put_le(out, 1, 2);  // PCM
    put_le(out, 1, 2);  // mono
    put_le(out, uint32_t(sample_rate), 4);
    put_le(out, uint32_t(sample_rate) * 2, 4);
    put_le(out, 2, 2);
    put_le(out, 16, 2);
    out += "data";
    put_le(out, data_bytes, 4);
    return out;
}

WavStreamWriter::WavStreamWriter(const std::string& path, int sample_rate, bool raw) : path_(path), raw_(raw) {
    if (sample_rate <= 0) throw Error(Errc::invalid_argument, path + ": audio has no sample rate");
    if (path == "-") {
        file_ = stdout;
    } else {
        file_ = std::fopen(path.c_str(), "wb");
        if (!file_) throw Error(Errc::runtime, fmt::format("{}: cannot write", path));
        owned_ = true;
    }
    if (!raw_) {
        const std::string h = wav_header(sample_rate, kWavUnknownLength);
        if (std::fwrite(h.data(), 1, h.size(), static_cast<FILE*>(file_)) != h.size())
            throw Error(Errc::runtime, fmt::format("{}: write failed", path_));
    }
}

WavStreamWriter::~WavStreamWriter() {
    try {
        close();
    } catch (...) {
    }
}

void WavStreamWriter::write(const float* samples, size_t count) {
    if (!file_) throw Error(Errc::runtime, fmt::format("{}: already closed", path_));
    const std::string bytes = pcm16_le(samples, count);
    auto* f = static_cast<FILE*>(file_);
    if (std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fflush(f) != 0)
        throw Error(Errc::runtime, fmt::format("{}: write failed", path_));
    samples_ += count;
}

void WavStreamWriter::close() {
    if (!file_) return;
    auto* f = static_cast<FILE*>(file_);
    file_ = nullptr;
    bool ok = std::fflush(f) == 0;
    if (owned_ && !raw_) {  // the real sizes (a file over 4 GiB keeps "unknown")
        const uint64_t bytes = samples_ * 2;
        if (bytes < kWavUnknownLength - 36) {
            std::string riff, data;
            put_le(riff, uint32_t(36 + bytes), 4);
            put_le(data, uint32_t(bytes), 4);
            ok = ok && std::fseek(f, 4, SEEK_SET) == 0 && std::fwrite(riff.data(), 1, 4, f) == 4 &&
                 std::fseek(f, 40, SEEK_SET) == 0 && std::fwrite(data.data(), 1, 4, f) == 4;
        }
    }
    if (owned_) ok = std::fclose(f) == 0 && ok;
    if (!ok) throw Error(Errc::runtime, fmt::format("{}: write failed", path_));
}

namespace {
double bessel_i0(double x) {
    double sum = 1, term = 1;
    for (int k = 1; k < 50; ++k) {
        term *= (x / (2 * k)) * (x / (2 * k));
        sum += term;
    }
    return sum;
}
}  // namespace

Audio resample(const Audio& audio, int target_rate) {
    if (audio.sample_rate == target_rate || audio.samples.empty()) {
        Audio copy = audio;
        if (copy.samples.empty()) copy.sample_rate = target_rate;
        return copy;
    }
    const double ratio = double(target_rate) / audio.sample_rate;
    const double cutoff = std::min(1.0, ratio) * 0.95;  // of the lower Nyquist
    const int half_width = 32;
    const double beta = 8.6;
    const size_t n_out = size_t(std::llround(double(audio.samples.size()) * ratio));
    Audio out;
    out.sample_rate = target_rate;
    out.samples.resize(n_out);
    const double scale = 1.0 / std::min(1.0, ratio);
    for (size_t i = 0; i < n_out; ++i) {
        const double t = double(i) / ratio;  // position in input samples
        const long center = long(std::floor(t));
        const int width = int(std::ceil(half_width * scale));
        double acc = 0;
        for (long j = center - width + 1; j <= center + width; ++j) {
            if (j < 0 || j >= long(audio.samples.size())) continue;
            const double x = (t - double(j));
            const double u = x / (width);
            if (std::abs(u) >= 1) continue;
            const double arg = M_PI * x * cutoff;
            const double sinc = x == 0 ? 1.0 : std::sin(arg) / arg;
            const double window = bessel_i0(beta * std::sqrt(1 - u * u)) / bessel_i0(beta);
            acc += audio.samples[size_t(j)] * sinc * window * cutoff;
        }
        out.samples[i] = float(acc);
    }
    return out;
}

}  // namespace troupe
