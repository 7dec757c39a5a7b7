#include "wav_bytes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace troupe::server {

namespace {
void put_u32(std::string& out, uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& out, uint16_t v) {
    out.push_back(char(v & 0xff));
    out.push_back(char(v >> 8));
}
}  // namespace

std::string pcm16_bytes(const Audio& audio) {
    std::string out;
    out.reserve(audio.samples.size() * 2);
    for (float s : audio.samples) {
        const float c = std::clamp(std::isfinite(s) ? s : 0.0f, -1.0f, 1.0f);
        put_u16(out, uint16_t(int16_t(std::lround(c * 32767.0f))));
    }
    return out;
}

std::string wav_bytes(const Audio& audio) {
    const std::string data = pcm16_bytes(audio);
    std::string out = "RIFF";
    put_u32(out, uint32_t(36 + data.size()));
    out += "WAVEfmt ";
    put_u32(out, 16);
    put_u16(out, 1);  // PCM
    put_u16(out, 1);  // mono
    put_u32(out, uint32_t(audio.sample_rate));
    put_u32(out, uint32_t(audio.sample_rate) * 2);
    put_u16(out, 2);
    put_u16(out, 16);
    out += "data";
    put_u32(out, uint32_t(data.size()));
    return out + data;
}

}  // namespace troupe::server
