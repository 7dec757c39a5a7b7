#include "train/s2_model.hpp"

#include "s2/text_encoder.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace troupe::sovits::train {
namespace fs = std::filesystem;

at::Tensor TorchRandomSource::posterior_noise(at::IntArrayRef sizes, const at::TensorOptions& options) {
    return at::randn(sizes, options);
}

at::Tensor TorchRandomSource::slice_uniform(int64_t batch, const c10::Device& device) {
    return at::rand({batch}, at::TensorOptions().dtype(at::kFloat)).to(device);  // torch.rand([b]).to(device)
}

S2Batch S2Batch::to(const c10::Device& device) const {
    S2Batch b;
    b.ssl = ssl.to(device, at::kFloat);
    b.ssl_lengths = ssl_lengths.to(device, at::kLong);
    b.spec = spec.to(device, at::kFloat);
    b.spec_lengths = spec_lengths.to(device, at::kLong);
    b.wav = wav.to(device, at::kFloat);
    b.wav_lengths = wav_lengths.to(device, at::kLong);
    b.text = text.to(device, at::kLong);
    b.text_lengths = text_lengths.to(device, at::kLong);
    return b;
}

std::vector<std::pair<std::string, at::Tensor>> module_params(const torch::nn::Module& module) {
    std::vector<std::pair<std::string, at::Tensor>> out;
    for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value());
    return out;
}

namespace {

s2::StateDict read_weights(const std::string& path, nlohmann::json* hps) {
    if (!fs::is_regular_file(path)) throw Error(Errc::not_found, fmt::format("{}: no such file", path));
    const pt::Checkpoint ck = pt::Checkpoint::open(path);
    if (!ck.root().find("weight"))
        throw Error(Errc::invalid_file, fmt::format("{}: no 'weight' entry (not an upstream S2 .pth)", path));
    s2::StateDict state = ck.state_dict("weight");
    if (hps) {
        *hps = nlohmann::json::object();
        if (const pt::Value* config = ck.root().find("config"); config && !config->is_none()) *hps = pt::to_json(*config);
        if (!hps->is_object()) throw Error(Errc::invalid_file, fmt::format("{}: 'config' is not a mapping", path));
    }
    return state;
}

}  // namespace

S2Networks load_s2_networks(const std::string& g_path, const std::string& d_path, const S2LoadOptions& opt) {
    S2Networks n;
    const s2::StateDict gs = read_weights(g_path, &n.hps);
    if (gs.count("discriminators.0.convs.0.weight_v"))
        throw Error(Errc::invalid_file, fmt::format("{}: this is an S2 discriminator (D) file, not the generator", g_path));
    for (const char* key : {"sv_emb.weight", "ge_to512.weight", "prelu.weight"})
        if (gs.count(key))
            throw Error(Errc::unsupported, fmt::format("{}: a v2Pro/v2ProPlus model ('{}'); only v2 is trained", g_path, key));
    n.config = s2::S2Config::from_json(n.hps, g_path);
    if (n.config.version == "v3" || n.config.version == "v4")
        throw Error(Errc::unsupported, fmt::format("{}: a {} model; only v2 is trained", g_path, n.config.version));
    n.config.resolve_from_weights(gs, g_path);
    if (opt.dropout >= 0) {
        n.config.p_dropout = opt.dropout;
        n.config.style_dropout = opt.dropout;
    }
    n.g = std::make_shared<s2::SynthesizerImpl>(n.config, /*training=*/true);
    // strict=False as upstream: every key but enc_q.* must be there; enc_q stays fresh when absent.
    for (const auto& child : n.g->named_children()) {
        if (child.key() == "enc_q" && !n.config.has_posterior) continue;
        s2::load_state(*child.value(), gs, child.key() + ".", g_path);
    }
    n.posterior_loaded = n.config.has_posterior;
    if (!d_path.empty()) {
        const s2::StateDict ds = read_weights(d_path, nullptr);
        if (ds.count("ssl_proj.weight") || ds.count("enc_p.ssl_proj.weight"))
            throw Error(Errc::invalid_file, fmt::format("{}: this is an S2 generator file, not the discriminator (D)", d_path));
        n.d = std::make_shared<s2::MultiPeriodDiscriminatorImpl>(ds, d_path);
        n.discriminator_loaded = true;
    } else {
        n.d = std::make_shared<s2::MultiPeriodDiscriminatorImpl>();
    }
    n.g->to(opt.device, at::kFloat);
    n.d->to(opt.device, at::kFloat);
    n.g->train();
    n.d->train();
    return n;
}

at::Tensor slice_segments(const at::Tensor& x, const at::Tensor& starts, int64_t size) {
    const at::Tensor s = starts.to(at::kCPU, at::kLong);
    std::vector<at::Tensor> rows;
    for (int64_t i = 0; i < x.size(0); ++i) {
        const int64_t a = std::max<int64_t>(0, s[i].item<int64_t>());
        const int64_t b = std::min<int64_t>(x.size(2), a + size);
        at::Tensor row = x[i].slice(1, a, b);
        if (b - a < size) row = at::constant_pad_nd(row, {0, size - (b - a)});
        rows.push_back(row);
    }
    return at::stack(rows, 0);
}

S2ForwardOutput s2_train_forward(s2::SynthesizerImpl& g, const S2Batch& b, int64_t segment_frames,
                                 S2RandomSource& random) {
    const s2::S2Config& c = g.config();
    S2ForwardOutput o;
    o.y_mask = s2::sequence_mask(b.spec_lengths, b.spec.size(2)).unsqueeze(1).to(b.spec.scalar_type());
    o.ge = g.ref_enc->forward(b.spec.slice(1, 0, c.style_in) * o.y_mask, o.y_mask);
    {
        // freeze_quantizer: ssl_proj and the codebook in eval; the codebook output carries no gradient.
        c10::NoGradGuard no_grad;
        g.ssl_proj->eval();
        g.quantizer->eval();
        const at::Tensor latent = g.ssl_proj->forward(b.ssl);
        o.quantized = g.quantizer->decode(g.quantizer->encode(latent));
    }
    o.kl_ssl = at::zeros({}, b.spec.options());
    if (c.semantic_frame_rate == "25hz") o.quantized = at::upsample_nearest1d(o.quantized, {o.quantized.size(2) * 2});
    s2::TextEncoderOutput prior = g.enc_p->forward(o.quantized, b.spec_lengths, b.text, b.text_lengths, o.ge);
    o.m_p = prior.m;
    o.logs_p = prior.logs;
    const at::Tensor noise =
        random.posterior_noise({b.spec.size(0), c.inter_channels, b.spec.size(2)}, b.spec.options());
    std::vector<at::Tensor> post = g.enc_q->forward(b.spec, b.spec_lengths, o.ge, noise);
    o.z = post[0];
    o.m_q = post[1];
    o.logs_q = post[2];
    o.z_p = g.flow->forward(o.z, o.y_mask, o.ge, /*reverse=*/false);
    const at::Tensor u = random.slice_uniform(b.spec.size(0), b.spec.device());
    const at::Tensor ids_max = b.spec_lengths - segment_frames + 1;
    o.ids_slice = at::clamp_min((u.to(b.spec.device()) * ids_max).to(at::kLong), 0);
    o.z_slice = slice_segments(o.z, o.ids_slice, segment_frames);
    o.y_hat = g.dec->forward(o.z_slice, o.ge);
    return o;
}

}  // namespace troupe::sovits::train
