#include "espeak_voice.hpp"

#include <troupe/kit/params.hpp>

#include <troupe/status.hpp>

#include <espeak-ng/speak_lib.h>
#include <fmt/format.h>

#include <algorithm>
#include <mutex>

namespace troupe::espeak {
namespace {

// libespeak-ng keeps global state: one initialisation per process, one synthesis at a time.
std::mutex g_mutex;
int g_sample_rate = 0;
std::vector<float>* g_sink = nullptr;

int collect(short* samples, int count, espeak_EVENT*) {
    if (samples && g_sink)
        for (int i = 0; i < count; ++i) g_sink->push_back(float(samples[i]) / 32768.0f);
    return 0;
}

int param(const Params& p, const char* key, int fallback, int min, int max) {
    auto it = p.find(key);
    if (it == p.end()) return fallback;
    try {
        size_t used = 0;
        int v = std::stoi(it->second, &used);
        if (used != it->second.size() || v < min || v > max) throw std::out_of_range(key);
        return v;
    } catch (const std::exception&) {
        throw Error(Errc::invalid_argument,
                    fmt::format("voice parameter {} = '{}' must be an integer in {}..{}", key, it->second, min, max));
    }
}

}  // namespace

EspeakVoice::EspeakVoice(const Params& params)
    : language_(kit::ParamReader("espeak-ng", params).string("language", "ko")) {
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_sample_rate == 0) {
        int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, nullptr, 0);
        if (rate <= 0) throw Error(Errc::init_failed, "espeak-ng: initialisation failed (is espeak-ng-data installed?)");
        espeak_SetSynthCallback(collect);
        g_sample_rate = rate;
    }
}

std::string EspeakVoice::describe() const noexcept { return "espeak-ng " + language_; }

Status EspeakVoice::synthesize(const SpeechRequest& request, Audio& out) noexcept {
    return guard([&] {
        if (request.text.empty()) throw Error(Errc::invalid_argument, "espeak-ng: empty text");
        const Params& p = request.voice.params;
        auto variant_it = p.find("variant");
        std::string voice = request.language.empty() ? language_ : request.language;
        if (variant_it != p.end()) {
            const std::string& v = variant_it->second;
            if (v.empty() || v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos)
                throw Error(Errc::invalid_argument, "espeak-ng: invalid variant '" + v + "'");
            voice += "+" + v;
        }
        const int pitch = param(p, "pitch", 50, 0, 100);
        const int range = param(p, "range", 50, 0, 100);
        const int rate = param(p, "rate", 175, 80, 450);
        const int gap = param(p, "gap", 0, 0, 100);

        std::lock_guard<std::mutex> lock(g_mutex);
        if (espeak_SetVoiceByName(voice.c_str()) != EE_OK)
            throw Error(Errc::not_found, "espeak-ng: no voice '" + voice + "'");
        espeak_SetParameter(espeakPITCH, pitch, 0);
        espeak_SetParameter(espeakRANGE, range, 0);
        espeak_SetParameter(espeakRATE, rate, 0);
        espeak_SetParameter(espeakWORDGAP, gap, 0);
        std::vector<float> samples;
        g_sink = &samples;
        espeak_ERROR err = espeak_Synth(request.text.c_str(), request.text.size() + 1, 0, POS_CHARACTER, 0,
                                        espeakCHARS_UTF8, nullptr, nullptr);
        espeak_Synchronize();
        g_sink = nullptr;
        if (err != EE_OK) throw Error(Errc::runtime, fmt::format("espeak-ng: synthesis failed (code {})", int(err)));
        if (samples.empty()) throw Error(Errc::runtime, "espeak-ng: produced no audio");
        // espeak-ng stops on the last voiced frame: fade the final 10 ms and close with 150 ms of
        // silence, so a line never ends mid-waveform (the eval's abrupt-end check).
        const size_t fade = std::min(samples.size(), size_t(g_sample_rate / 100));
        for (size_t i = 0; i < fade; ++i) samples[samples.size() - fade + i] *= float(fade - i) / float(fade);
        samples.insert(samples.end(), size_t(g_sample_rate * 15 / 100), 0.0f);
        out.sample_rate = g_sample_rate;
        out.samples = std::move(samples);
    });
}

}  // namespace troupe::espeak
