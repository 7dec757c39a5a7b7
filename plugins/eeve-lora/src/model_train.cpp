// Training support for Model: random initialisation, the named weights, saving an HF folder.
#include "arch.hpp"
#include "model.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace troupe::llama {

Model Model::create(const LlamaConfig& config, const LoadOptions& options, uint64_t seed) {
    Model m;
    m.config_ = config;
    const LlamaConfig& c = m.config_;
    m.device_ = parse_device(options.device);
    m.dtype_ = options.dtype.empty() ? at::kFloat : parse_dtype(options.dtype);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    auto normal = [&](std::vector<int64_t> shape) {
        return at::normal(0.0, 0.02, shape, generator, at::TensorOptions().dtype(at::kFloat)).to(m.device_, m.dtype_);
    };
    auto ones = [&](int64_t n) { return at::ones({n}, at::TensorOptions().dtype(m.dtype_).device(m.device_)); };

    m.embed_tokens_ = normal({c.vocab_size, c.hidden_size});
    m.final_norm_ = ones(c.hidden_size);
    m.lm_head_.module = arch::kLmHeadModule;
    m.lm_head_.in = c.hidden_size;
    m.lm_head_.out = c.vocab_size;
    m.lm_head_.weight = c.tie_word_embeddings ? m.embed_tokens_ : normal({c.vocab_size, c.hidden_size});
    const std::vector<std::pair<int64_t, int64_t>> dims = {
        {c.q_dim(), c.hidden_size},           {c.kv_dim(), c.hidden_size},
        {c.kv_dim(), c.hidden_size},          {c.hidden_size, c.q_dim()},
        {c.intermediate_size, c.hidden_size}, {c.intermediate_size, c.hidden_size},
        {c.hidden_size, c.intermediate_size}};
    m.layers_.resize(size_t(c.num_layers));
    for (int64_t i = 0; i < c.num_layers; ++i) {
        Layer& L = m.layers_[size_t(i)];
        L.input_norm = ones(c.hidden_size);
        L.post_attention_norm = ones(c.hidden_size);
        L.proj.resize(arch::kProjCount);
        for (int p = 0; p < arch::kProjCount; ++p) {
            Linear& lin = L.proj[size_t(p)];
            lin.module = arch::linear_module(i, static_cast<arch::Proj>(p));
            lin.out = dims[size_t(p)].first;
            lin.in = dims[size_t(p)].second;
            lin.weight = normal({lin.out, lin.in});
        }
    }
    at::Tensor exps = at::arange(0, c.head_dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(c.head_dim);
    m.inv_freq_ = (1.0 / at::pow(c.rope_theta, exps)).to(m.device_);
    return m;
}

std::vector<std::pair<std::string, at::Tensor>> Model::named_weights() const {
    std::vector<std::pair<std::string, at::Tensor>> out;
    out.emplace_back(arch::kEmbed, embed_tokens_);
    for (int64_t i = 0; i < config_.num_layers; ++i) {
        const Layer& L = layers_[size_t(i)];
        out.emplace_back(arch::input_norm(i), L.input_norm);
        out.emplace_back(arch::post_attention_norm(i), L.post_attention_norm);
        for (const Linear& lin : L.proj) {
            if (lin.nf4) throw Error(Errc::unsupported, lin.module + ": NF4 weights cannot be trained or saved dense");
            out.emplace_back(lin.module + ".weight", lin.weight);
            if (lin.bias.defined()) out.emplace_back(lin.module + ".bias", lin.bias);
        }
    }
    out.emplace_back(arch::kFinalNorm, final_norm_);
    if (!config_.tie_word_embeddings) out.emplace_back(arch::kLmHead, lm_head_.weight);
    return out;
}

void Model::own_weights() {
    const bool tied = lm_head_.weight.is_same(embed_tokens_);
    embed_tokens_ = embed_tokens_.clone();
    final_norm_ = final_norm_.clone();
    lm_head_.weight = tied ? embed_tokens_ : lm_head_.weight.clone();
    for (Layer& L : layers_) {
        L.input_norm = L.input_norm.clone();
        L.post_attention_norm = L.post_attention_norm.clone();
        for (Linear& lin : L.proj) {
            if (lin.weight.defined()) lin.weight = lin.weight.clone();
            if (lin.bias.defined()) lin.bias = lin.bias.clone();
        }
    }
}

void Model::save(const std::string& dir, at::ScalarType storage) const {
    std::filesystem::create_directories(dir);
    const LlamaConfig& c = config_;
    nlohmann::json config = {
        {"architectures", {"LlamaForCausalLM"}},
        {"model_type", "llama"},
        {"vocab_size", c.vocab_size},
        {"hidden_size", c.hidden_size},
        {"intermediate_size", c.intermediate_size},
        {"num_hidden_layers", c.num_layers},
        {"num_attention_heads", c.num_heads},
        {"num_key_value_heads", c.num_kv_heads},
        {"head_dim", c.head_dim},
        {"hidden_act", "silu"},
        {"rms_norm_eps", c.rms_norm_eps},
        {"rope_theta", c.rope_theta},
        {"max_position_embeddings", c.max_position_embeddings},
        {"tie_word_embeddings", c.tie_word_embeddings},
        {"attention_bias", c.attention_bias},
        {"mlp_bias", c.mlp_bias},
        {"torch_dtype", "float32"},
        {"bos_token_id", c.bos_token_id >= 0 ? c.bos_token_id : 1},
        {"eos_token_id", c.eos_token_ids.empty() ? nlohmann::json(2) : nlohmann::json(c.eos_token_ids.front())}};
    nlohmann::json generation = {{"bos_token_id", config["bos_token_id"]},
                                 {"eos_token_id", c.eos_token_ids.empty() ? nlohmann::json(2) : nlohmann::json(c.eos_token_ids)}};
    auto write = [&](const std::string& name, const nlohmann::json& j) {
        std::ofstream out(dir + "/" + name);
        out << j.dump(2) << "\n";
        if (!out) throw Error(Errc::runtime, fmt::format("{}/{}: write failed", dir, name));
    };
    write("config.json", config);
    write("generation_config.json", generation);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (auto& [name, t] : named_weights()) tensors.emplace_back(name, t.detach().to(at::kCPU, storage));
    st::save(dir + "/model.safetensors", tensors, {{"format", "pt"}});
}

}  // namespace troupe::llama
