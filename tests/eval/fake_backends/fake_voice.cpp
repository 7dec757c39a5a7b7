// Test-only speech backend: a harmonic buzz at the voice's "pitch" (Hz), 0.2 s per Hangul syllable,
// with short fades; text containing "SILENT" gives 2 s of leading silence (a signal failure).
#include <troupe/plugin.hpp>

#include <algorithm>
#include <cmath>

namespace {
using namespace troupe;

class FakeVoice final : public SpeechBackend {
public:
    Status synthesize(const SpeechRequest& request, Audio& out) noexcept override {
        return guard([&] {
            if (request.text.find("CRASH") != std::string::npos) throw Error(Errc::runtime, "fake voice: asked to fail");
            double f0 = 120;
            auto it = request.voice.params.find("pitch");
            if (it != request.voice.params.end()) f0 = std::stod(it->second);
            size_t syllables = 0;
            for (size_t i = 0; i + 2 < request.text.size(); ++i)
                if ((unsigned char)request.text[i] == 0xEA || (unsigned char)request.text[i] == 0xEB ||
                    (unsigned char)request.text[i] == 0xEC || (unsigned char)request.text[i] == 0xED)
                    ++syllables;
            out.sample_rate = 16000;
            out.samples.clear();
            if (request.text.find("SILENT") != std::string::npos) out.samples.assign(32000, 0.f);
            size_t n = size_t(std::max<size_t>(syllables, 1) * 0.2 * 16000);
            for (size_t i = 0; i < n; ++i) {
                double t = double(i) / 16000, v = 0;
                for (int h = 1; h < 12; ++h) v += std::sin(2 * M_PI * f0 * h * t) / h;
                double fade = std::min({1.0, double(i) / 800.0, double(n - i) / 800.0});
                out.samples.push_back(float(0.2 * fade * v));
            }
            out.samples.insert(out.samples.end(), 1600, 0.f);
        });
    }
};

class FakeVoiceModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::speech_backend; }
    Status create(const Params&, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<FakeVoice>(); });
    }
};
}  // namespace

TROUPE_PLUGIN_DEFINE(FakeVoiceModule)
