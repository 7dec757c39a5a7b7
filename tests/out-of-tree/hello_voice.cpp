// An out-of-tree plugin built against the installed Troupe (find_package(troupe)): a speech backend
// through the kit's SimpleModule, and a command (`troupe hello`) through the kit's command table.
#include <troupe/kit/command.hpp>
#include <troupe/kit/module.hpp>
#include <troupe/kit/params.hpp>
#include <troupe/plugin.hpp>

#include <fmt/format.h>

namespace {

class Silence final : public troupe::SpeechBackend {
public:
    explicit Silence(const troupe::Params& params)
        : seconds_(troupe::kit::ParamReader("hello-voice", params).number("seconds", 1.0, 0.0, 60.0)) {}
    troupe::Status synthesize(const troupe::SpeechRequest&, troupe::Audio& out) noexcept override {
        out.sample_rate = 16000;
        out.samples.assign(size_t(16000 * seconds_), 0.0f);
        return {};
    }

private:
    double seconds_;
};

// `troupe hello [--name WHO]`: greets, and says how long its silence is (the plugin's parameters).
int hello(const std::vector<std::string>& args, const troupe::kit::CommandContext& ctx) {
    namespace po = boost::program_options;
    po::options_description options("troupe hello options");
    std::string name = "world";
    options.add_options()("name", po::value(&name), "who to greet");
    po::variables_map vm;
    if (!troupe::kit::parse_options("troupe hello [--name WHO]", options, args, vm)) return 0;
    const troupe::kit::ParamReader params(ctx.plugin_name(), ctx.params());
    fmt::print("hello, {}, from {} ({} s of silence)\n", name, ctx.plugin_name(), params.number("seconds", 1.0));
    return 0;
}

const troupe::kit::CommandHandler kCommands[] = {{"hello", hello}};

}  // namespace

using HelloModule = troupe::kit::SimpleModule<Silence, troupe::PluginKind::speech_backend>;
TROUPE_PLUGIN_DEFINE(HelloModule)
TROUPE_PLUGIN_COMMANDS(kCommands)
