// troupe/kit/module.hpp — plugin kit: the Module boilerplate for a plugin that creates one kind of
// object from its parameters.
//
//     using EspeakModule = troupe::kit::SimpleModule<EspeakVoice, troupe::PluginKind::speech_backend>;
//     TROUPE_PLUGIN_DEFINE(EspeakModule)
//
// `T` must be constructible from `const troupe::Params&` and may throw troupe::Error (with a message
// that starts with the plugin's name, as kit::ParamReader's do); create() turns it into a Status.
#pragma once

#include <troupe/plugin.hpp>

#include <memory>

namespace troupe::kit {

template <class T, PluginKind Kind>
class SimpleModule final : public Module {
public:
    PluginKind kind() const noexcept override { return Kind; }
    Status create(const Params& params, std::shared_ptr<Object>& out) noexcept override {
        return guard([&] { out = std::make_shared<T>(params); });
    }
};

}  // namespace troupe::kit
