#include "utmos.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <filesystem>
#include <regex>

namespace troupe::utmos {
namespace {

constexpr int64_t kHeads = 12;                                   // fixed in SpeechMOS' TransformerEncoder
const std::vector<int64_t> kStrides{5, 2, 2, 2, 2, 2, 2};         // wav2vec2-base conv strides
const char* kPrefix = "wav2vec2.";

/// The SSL weights under HF wav2vec2 names, read from SpeechMOS' fairseq names.
std::string fairseq_name(const std::string& hf) {
    static const std::vector<std::pair<std::regex, std::string>> rules = {
        {std::regex(R"(^feature_extractor\.conv_layers\.(\d+)\.conv\.weight$)"), "feature_extractor.conv_layers.$1.0.weight"},
        {std::regex(R"(^feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(weight|bias)$)"), "feature_extractor.conv_layers.$1.2.$2"},
        {std::regex(R"(^feature_projection\.layer_norm\.(weight|bias)$)"), "layer_norm.$1"},
        {std::regex(R"(^feature_projection\.projection\.(weight|bias)$)"), "post_extract_proj.$1"},
        {std::regex(R"(^encoder\.pos_conv_embed\.conv\.(weight_g|weight_v|bias)$)"), "encoder.pos_conv.0.$1"},
        {std::regex(R"(^encoder\.layers\.(\d+)\.attention\.(\w+_proj)\.(weight|bias)$)"), "encoder.layers.$1.self_attn.$2.$3"},
        {std::regex(R"(^encoder\.layers\.(\d+)\.layer_norm\.(weight|bias)$)"), "encoder.layers.$1.self_attn_layer_norm.$2"},
        {std::regex(R"(^encoder\.layers\.(\d+)\.feed_forward\.intermediate_dense\.(weight|bias)$)"), "encoder.layers.$1.fc1.$2"},
        {std::regex(R"(^encoder\.layers\.(\d+)\.feed_forward\.output_dense\.(weight|bias)$)"), "encoder.layers.$1.fc2.$2"},
    };
    for (const auto& [re, to] : rules)
        if (std::regex_match(hf, re)) return kPrefix + std::regex_replace(hf, re, to);
    return kPrefix + hf;  // encoder.layer_norm.*, encoder.layers.N.final_layer_norm.*
}

ssl::WeightSource read_state_dict(const std::string& path) {
    namespace fs = std::filesystem;
    if (!fs::exists(path)) throw Error(Errc::not_found, fmt::format("utmos: model file {} not found", path));
    std::map<std::string, at::Tensor> tensors;
    if (path.size() > 12 && path.compare(path.size() - 12, 12, ".safetensors") == 0) {
        const st::File f = st::File::open(path);
        for (const std::string& n : f.names()) tensors[n] = f.tensor(n);
    } else {
        tensors = pt::Checkpoint::open(path).state_dict("");
    }
    return ssl::weights_from_map(std::make_shared<const std::map<std::string, at::Tensor>>(std::move(tensors)), path);
}

at::Tensor need(const ssl::WeightSource& w, const std::string& name, int64_t dims) {
    if (!w.contains(name)) throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}' (not a UTMOS22 strong state dict?)", w.describe, name));
    at::Tensor t = w.get(name);
    if (t.dim() != dims) throw Error(Errc::invalid_file, fmt::format("{}: tensor '{}' has {} dimensions, expected {}", w.describe, name, t.dim(), dims));
    return t;
}

/// The HF-style encoder config the state dict's shapes describe.
ssl::EncoderConfig encoder_config(const ssl::WeightSource& w) {
    ssl::EncoderConfig c;
    c.model_type = "wav2vec2";
    c.conv_dim.clear(); c.conv_kernel.clear(); c.conv_stride.clear();
    for (size_t i = 0; i < kStrides.size(); ++i) {
        const at::Tensor k = need(w, fmt::format("{}feature_extractor.conv_layers.{}.0.weight", kPrefix, i), 3);
        c.conv_dim.push_back(k.size(0));
        c.conv_kernel.push_back(k.size(2));
        c.conv_stride.push_back(kStrides[i]);
    }
    c.conv_bias = false;
    c.feat_extract_norm = "group";
    c.feat_extract_activation = "gelu";
    c.hidden_size = need(w, fmt::format("{}post_extract_proj.weight", kPrefix), 2).size(0);
    c.num_attention_heads = kHeads;
    c.intermediate_size = need(w, fmt::format("{}encoder.layers.0.fc1.weight", kPrefix), 2).size(0);
    c.num_hidden_layers = 0;
    while (w.contains(fmt::format("{}encoder.layers.{}.fc1.weight", kPrefix, c.num_hidden_layers))) ++c.num_hidden_layers;
    const at::Tensor v = need(w, fmt::format("{}encoder.pos_conv.0.weight_v", kPrefix), 3);
    c.num_conv_pos_embeddings = v.size(2);
    c.num_conv_pos_embedding_groups = v.size(1) > 0 ? c.hidden_size / v.size(1) : 1;
    c.do_stable_layer_norm = false;
    c.hidden_act = "gelu";
    c.layer_norm_eps = 1e-5;
    return c;
}

}  // namespace

HeadImpl::HeadImpl(int64_t ssl_dim, int64_t emb_dim, int64_t rnn_dim, int64_t proj_dim) {
    domain_emb_ = register_parameter("domain_emb", at::zeros({1, emb_dim}), false);
    judge_emb_ = register_parameter("judge_emb", at::zeros({1, emb_dim}), false);
    blstm_ = register_module("blstm", std::make_shared<torch::nn::Module>());
    const int64_t in = ssl_dim + 2 * emb_dim;
    for (const char* suffix : {"", "_reverse"}) {
        lstm_params_.push_back(blstm_->register_parameter(fmt::format("weight_ih_l0{}", suffix), at::zeros({4 * rnn_dim, in}), false));
        lstm_params_.push_back(blstm_->register_parameter(fmt::format("weight_hh_l0{}", suffix), at::zeros({4 * rnn_dim, rnn_dim}), false));
        lstm_params_.push_back(blstm_->register_parameter(fmt::format("bias_ih_l0{}", suffix), at::zeros({4 * rnn_dim}), false));
        lstm_params_.push_back(blstm_->register_parameter(fmt::format("bias_hh_l0{}", suffix), at::zeros({4 * rnn_dim}), false));
    }
    auto projection = register_module("projection", std::make_shared<torch::nn::Module>());
    proj0_ = projection->register_module("0", std::make_shared<nn::LinearImpl>(2 * rnn_dim, proj_dim));
    proj2_ = projection->register_module("2", std::make_shared<nn::LinearImpl>(proj_dim, 1));
}

at::Tensor HeadImpl::forward(const at::Tensor& ssl, at::Tensor* blstm_out) const {
    const int64_t B = ssl.size(0), T = ssl.size(1);
    const at::Tensor x = at::cat({ssl, domain_emb_.unsqueeze(1).expand({B, T, -1}), judge_emb_.unsqueeze(1).expand({B, T, -1})}, 2);
    const int64_t R = lstm_params_[1].size(1);
    const at::Tensor h0 = at::zeros({2, B, R}, x.options());
    // The parameters live in the module (moved with it); read them through the registered tensors.
    std::vector<at::Tensor> params;
    for (const auto& p : blstm_->named_parameters(false)) params.push_back(p.value());
    const at::Tensor y = std::get<0>(at::lstm(x, {h0, h0}, params, /*has_biases=*/true, /*num_layers=*/1, /*dropout=*/0.0,
                                              /*train=*/false, /*bidirectional=*/true, /*batch_first=*/true));
    if (blstm_out) *blstm_out = y;
    return proj2_->forward(at::relu(proj0_->forward(y)));
}

Predictor::Predictor(ssl::Encoder encoder, std::shared_ptr<HeadImpl> head) : encoder_(std::move(encoder)), head_(std::move(head)) {}

std::unique_ptr<Predictor> Predictor::load_file(const std::string& path, const ssl::LoadOptions& options) {
    const ssl::WeightSource raw = read_state_dict(path);
    const ssl::EncoderConfig config = encoder_config(raw);
    const ssl::WeightSource mapped{[raw](const std::string& n) { return raw.contains(fairseq_name(n)); },
                                   [raw](const std::string& n) { return raw.get(fairseq_name(n)); }, raw.describe};
    ssl::FeatureExtractorConfig fe;
    fe.do_normalize = false;
    fe.sampling_rate = 16000;
    // Errors of the shared encoder name HF tensors; say the state dict's own names instead.
    auto encoder = [&] {
        try {
            return ssl::Encoder::from_weights(config, fe, mapped, options, std::string());
        } catch (const Error& e) {
            static const std::regex missing(R"(missing tensor '([^']+)')");
            std::smatch m;
            const std::string what = e.what();
            if (!std::regex_search(what, m, missing)) throw;
            throw Error(Errc::invalid_file, fmt::format("{}: missing tensor '{}'", raw.describe, fairseq_name(m[1].str())));
        }
    }();
    const int64_t emb = need(raw, "domain_emb", 2).size(1);
    const int64_t rnn = need(raw, "blstm.weight_hh_l0", 2).size(1);
    const int64_t proj = need(raw, "projection.0.weight", 2).size(0);
    auto head = std::make_shared<HeadImpl>(config.hidden_size, emb, rnn, proj);
    nn::load_weights(*head, raw, "", options.device, options.dtype);
    head->eval();
    return std::unique_ptr<Predictor>(new Predictor(std::move(encoder), std::move(head)));
}

Output Predictor::forward(const at::Tensor& waveform, bool with_traces) const {
    c10::NoGradGuard no_grad;
    ssl::EncoderOutput enc = encoder_.forward(waveform, with_traces);
    Output out;
    at::Tensor blstm;
    out.frame_scores = head_->forward(enc.last_hidden_state, with_traces ? &blstm : nullptr);
    out.score = out.frame_scores.mean(1).squeeze(1) * 2.0 + 3.0;
    if (with_traces) {
        out.traces["ssl"] = enc.last_hidden_state;
        out.traces["conv_features"] = enc.traces["conv_features"];
        out.traces["blstm"] = blstm;
    }
    return out;
}

double Predictor::score(const std::vector<float>& samples) const {
    const at::Tensor wave = at::from_blob(const_cast<float*>(samples.data()), {1, int64_t(samples.size())}, at::kFloat);
    return forward(wave).score[0].item<double>();
}

}  // namespace troupe::utmos
