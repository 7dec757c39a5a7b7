#include "train/s1_export.hpp"

#include "s1/model.hpp"

#include <troupe/torch/torch_save.hpp>

#include <ATen/ATen.h>

namespace troupe::sovits::train {

void export_s1_checkpoint(const std::string& path, const s1::Text2SemanticDecoderImpl& model, const nlohmann::json& config,
                          const std::string& info) {
    pt::SaveValue weight = pt::SaveValue::ordered_dict();
    for (const auto& p : model.named_parameters(true))
        weight.set("model." + p.key(), pt::SaveValue::tensor(p.value().detach().to(at::kCPU, at::kHalf)));
    pt::SaveValue root = pt::SaveValue::ordered_dict();
    root.set("weight", std::move(weight));
    root.set("config", pt::SaveValue::from_json(config));
    root.set("info", pt::SaveValue::string(info));
    pt::save(path, root);
}

nlohmann::json export_config(const nlohmann::json& base, const s1::S1Config& m, const nlohmann::json& train) {
    nlohmann::json c = base.is_object() ? base : nlohmann::json::object();
    nlohmann::json& model = c["model"];
    if (!model.is_object()) model = nlohmann::json::object();
    model["vocab_size"] = m.vocab_size;
    model["phoneme_vocab_size"] = m.phoneme_vocab_size;
    model["embedding_dim"] = m.embedding_dim;
    model["hidden_dim"] = m.hidden_dim;
    model["head"] = m.n_head;
    model["n_layer"] = m.n_layer;
    model["EOS"] = m.eos;
    if (!model.contains("linear_units")) model["linear_units"] = m.ffn_dim();
    if (!model.contains("dropout")) model["dropout"] = m.embedding_dropout;
    if (!model.contains("random_bert")) model["random_bert"] = 0;
    nlohmann::json& data = c["data"];
    if (!data.is_object()) data = nlohmann::json::object();
    data["max_sec"] = m.max_sec;
    if (!data.contains("pad_val")) data["pad_val"] = m.eos;
    nlohmann::json& inference = c["inference"];
    if (!inference.is_object()) inference = nlohmann::json::object();
    if (!inference.contains("top_k")) inference["top_k"] = m.top_k;
    nlohmann::json& t = c["train"];
    if (!t.is_object()) t = nlohmann::json::object();
    for (auto it = train.begin(); it != train.end(); ++it) t[it.key()] = it.value();
    return c;
}

}  // namespace troupe::sovits::train
