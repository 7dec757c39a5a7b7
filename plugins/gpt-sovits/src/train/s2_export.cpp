#include "train/s2_export.hpp"

#include "s2/synthesizer.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace troupe::sovits::train {
namespace {

// PyTorch's state_dict order: a module's own parameters, then its own buffers, then its children.
void collect(const torch::nn::Module& m, const std::string& prefix, std::vector<std::pair<std::string, pt::SaveValue>>& out) {
    for (const auto& p : m.named_parameters(false)) out.emplace_back(prefix + p.key(), pt::SaveValue::tensor(p.value().detach().to(at::kHalf)));
    for (const auto& b : m.named_buffers(false)) out.emplace_back(prefix + b.key(), pt::SaveValue::tensor(b.value().detach().to(at::kHalf)));
    for (const auto& c : m.named_children()) {
        if (prefix.empty() && c.key() == "enc_q") continue;  // savee drops every "enc_q" key
        collect(*c.value(), prefix + c.key() + ".", out);
    }
}

}  // namespace

pt::SaveValue hparams_value(const nlohmann::json& hps) {
    if (!hps.is_object()) return pt::SaveValue::from_json(hps);
    pt::SaveValue o = pt::SaveValue::object("utils", "HParams");
    for (auto it = hps.begin(); it != hps.end(); ++it) o.set(it.key(), hparams_value(it.value()));
    return o;
}

void export_s2_weights(const std::string& path, const s2::SynthesizerImpl& g, const nlohmann::json& hps, int64_t epoch,
                       int64_t steps) {
    std::vector<std::pair<std::string, pt::SaveValue>> weights;
    collect(g, "", weights);
    pt::SaveValue root = pt::SaveValue::ordered_dict();
    root.set("weight", pt::SaveValue::dict(std::move(weights)));
    root.set("config", hparams_value(hps.is_object() ? hps : nlohmann::json::object()));
    root.set("info", pt::SaveValue::string(fmt::format("{}epoch_{}iteration", epoch, steps)));
    pt::save(path, root);
}

}  // namespace troupe::sovits::train
