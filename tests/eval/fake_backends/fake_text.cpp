// Test-only text backend: answers in a fixed style per persona (하십시오체 or 반말), deterministic.
#include <troupe/plugin.hpp>

namespace {
using namespace troupe;

class FakeText final : public TextBackend {
public:
    Status load_adapter(const std::string&, const std::string&) noexcept override { return {}; }
    Status generate(const TextRequest& request, TextResult& result, TokenSink, void*) noexcept override {
        return guard([&] {
            if (request.prompt.find("FAIL") != std::string::npos) throw Error(Errc::runtime, "fake backend: asked to fail");
            bool formal = request.prompt.find("FORMAL") != std::string::npos;
            std::string topic = request.prompt.find("회식") != std::string::npos ? "회식" : "보고";
            result.text = formal ? topic + " 건은 제가 정리해서 오늘 안에 보고드리겠습니다. 필요한 자료가 있으시면 말씀해 주십시오."
                                 : "야 " + topic + " 얘기는 나중에 하자고~ 내가 왕년에 말이야, 이런 건 금방 했어. 걱정 마!";
            result.stop = request.prompt.find("LENGTH") != std::string::npos ? StopReason::length : StopReason::eos;
            result.token_ids.assign(20, 1);
            result.prompt_tokens = int(request.prompt.size() / 3);
            result.seconds = 0.001;
        });
    }
};

class FakeTextModule final : public Module {
public:
    PluginKind kind() const noexcept override { return PluginKind::text_backend; }
    Status create(const Params&, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<FakeText>(); });
    }
};
}  // namespace

TROUPE_PLUGIN_DEFINE(FakeTextModule)
