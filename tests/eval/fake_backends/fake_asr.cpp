// Test-only transcriber: "hears" 안녕하세요 반갑습니다 in audio of at most 2.5 s, and a fixed
// wrong sentence otherwise, so that CER/WER have known values in the harness test.
#include <troupe/plugin.hpp>

namespace {
using namespace troupe;

class FakeAsr final : public Transcriber {
public:
    Status transcribe(const Audio& audio, std::string& text) noexcept override {
        return guard([&] {
            if (audio.samples.empty()) throw Error(Errc::invalid_argument, "fake asr: empty audio");
            text = audio.seconds() <= 2.5 ? "안녕하세요. 반갑습니다!" : "전혀 다른 문장";
        });
    }
};

class FakeAsrModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::transcriber; }
    Status create(const Params&, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<FakeAsr>(); });
    }
};
}  // namespace

TROUPE_PLUGIN_DEFINE(FakeAsrModule)
