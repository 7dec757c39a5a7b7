#include <troupe/plugin.hpp>

namespace {
class Silence final : public troupe::SpeechBackend {
public:
    troupe::Status synthesize(const troupe::SpeechRequest&, troupe::Audio& out) noexcept override {
        out.sample_rate = 16000;
        out.samples.assign(16000, 0.0f);
        return {};
    }
};
class HelloModule final : public troupe::Module {
public:
    troupe::PluginKind kind() const noexcept override { return troupe::PluginKind::speech_backend; }
    troupe::Status create(const troupe::Params&, std::shared_ptr<troupe::Object>& out) noexcept override {
        out = std::make_shared<Silence>();
        return {};
    }
};
}  // namespace

TROUPE_PLUGIN_DEFINE(HelloModule)
