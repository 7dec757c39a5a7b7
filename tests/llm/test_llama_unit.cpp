// troupe_llama unit tests: bad files give clear errors naming the file, NF4 math, configs,
// adapters (refusals, save/load, autograd), sampler.
#define BOOST_TEST_MODULE llama_unit
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include "adapter.hpp"
#include "config.hpp"
#include "generator.hpp"
#include "model.hpp"
#include "fused_ops.hpp"
#include "nf4.hpp"
#include "sampler.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdlib>

using namespace llm_test;
namespace ll = troupe::llama;

namespace {

// Runs `fn`, expects troupe::Error whose message contains every string of `needles`.
template <class F>
void expect_error(F&& fn, std::initializer_list<std::string> needles, troupe::Errc code) {
    try {
        fn();
        BOOST_ERROR("no error thrown");
    } catch (const troupe::Error& e) {
        const std::string msg = e.what();
        BOOST_TEST_MESSAGE("error: " << msg);
        for (const std::string& n : needles) BOOST_CHECK_MESSAGE(msg.find(n) != std::string::npos, "'" << msg << "' lacks '" << n << "'");
        BOOST_CHECK(e.code() == code);
    }
}

fs::path copy_fixture(const std::string& name) {
    fs::path dir = scratch(name);
    fs::copy(fixture_dir() / "base", dir / "base", fs::copy_options::recursive);
    fs::copy(fixture_dir() / "adapter", dir / "adapter", fs::copy_options::recursive);
    for (auto& e : fs::recursive_directory_iterator(dir))
        fs::permissions(e.path(), fs::perms::owner_write | fs::perms::owner_read | fs::perms::owner_exec,
                        fs::perm_options::add);
    return dir;
}

void write(const fs::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

}  // namespace

BOOST_AUTO_TEST_CASE(truncated_safetensors_names_the_file) {
    fs::path dir = copy_fixture("truncated");
    const nlohmann::json index = load_json(dir / "base" / "model.safetensors.index.json");
    const std::string shard = index.at("weight_map").at("lm_head.weight").get<std::string>();
    const fs::path p = dir / "base" / shard;
    fs::resize_file(p, fs::file_size(p) - 100);
    expect_error([&] { ll::Model::load((dir / "base").string()); }, {shard}, troupe::Errc::invalid_file);
    // a header cut in half
    fs::resize_file(p, 20);
    expect_error([&] { ll::Model::load((dir / "base").string()); }, {shard}, troupe::Errc::invalid_file);
}

BOOST_AUTO_TEST_CASE(malformed_adapter_config_names_the_file) {
    fs::path dir = copy_fixture("bad_adapter");
    const ll::Model model = ll::Model::load((dir / "base").string());
    const fs::path cfg = dir / "adapter" / "adapter_config.json";
    const std::string good = slurp(cfg);
    write(cfg, good.substr(0, good.size() / 2));
    expect_error([&] { ll::Adapter::load((dir / "adapter").string(), model); }, {"adapter_config.json", "malformed JSON"},
                 troupe::Errc::invalid_file);
    auto with = [&](const std::string& key, const nlohmann::json& value) {
        nlohmann::json j = nlohmann::json::parse(good);
        j[key] = value;
        write(cfg, j.dump());
    };
    with("use_dora", true);
    expect_error([&] { ll::Adapter::load((dir / "adapter").string(), model); }, {"adapter_config.json", "DoRA"},
                 troupe::Errc::unsupported);
    with("modules_to_save", nlohmann::json::array({"lm_head"}));
    expect_error([&] { ll::Adapter::load((dir / "adapter").string(), model); }, {"modules_to_save"},
                 troupe::Errc::unsupported);
    with("rank_pattern", nlohmann::json{{"q_proj", 4}});
    expect_error([&] { ll::Adapter::load((dir / "adapter").string(), model); }, {"rank_pattern"},
                 troupe::Errc::unsupported);
    with("r", "eight");
    expect_error([&] { ll::Adapter::load((dir / "adapter").string(), model); }, {"adapter_config.json", "\"r\""},
                 troupe::Errc::invalid_file);
    with("r", 4);  // tensors are rank 8
    expect_error([&] { ll::Adapter::load((dir / "adapter").string(), model); }, {"adapter_model.safetensors", "r=4"},
                 troupe::Errc::invalid_file);
    write(cfg, good);
    fs::rename(dir / "adapter" / "adapter_model.safetensors", dir / "adapter" / "adapter_model.bin");
    expect_error([&] { ll::Adapter::load((dir / "adapter").string(), model); }, {"adapter_model.bin"},
                 troupe::Errc::unsupported);
}

BOOST_AUTO_TEST_CASE(config_variants) {
    const std::string base = R"({"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":16,
        "num_hidden_layers":1,"num_attention_heads":2,"num_key_value_heads":1,"rms_norm_eps":1e-5,
        "rope_theta":500000.0,"eos_token_id":[5,6]})";
    ll::LlamaConfig c = ll::parse_config(base, R"({"eos_token_id": 2, "bos_token_id": 1})", "/x/config.json");
    BOOST_CHECK_EQUAL(c.rope_theta, 500000.0);
    BOOST_CHECK_EQUAL(c.head_dim, 4);
    BOOST_CHECK((c.eos_token_ids == std::vector<int64_t>{5, 6, 2}));
    BOOST_CHECK(c.is_eos(2) && c.is_eos(6) && !c.is_eos(1));
    nlohmann::json j = nlohmann::json::parse(base);
    j.erase("rope_theta");
    j["rope_parameters"] = {{"rope_theta", 1234.0}, {"rope_type", "default"}};
    j["head_dim"] = 6;
    j["eos_token_id"] = 32000;
    c = ll::parse_config(j.dump(), "", "/x/config.json");
    BOOST_CHECK_EQUAL(c.rope_theta, 1234.0);
    BOOST_CHECK_EQUAL(c.head_dim, 6);
    BOOST_CHECK((c.eos_token_ids == std::vector<int64_t>{32000}));
    j["rope_parameters"]["rope_type"] = "llama3";
    expect_error([&] { ll::parse_config(j.dump(), "", "/x/config.json"); }, {"/x/config.json", "llama3"},
                 troupe::Errc::unsupported);
    expect_error([&] { ll::parse_config("{\"vocab_size\": 3", "", "/x/config.json"); }, {"/x/config.json"},
                 troupe::Errc::invalid_file);
    j = nlohmann::json::parse(base);
    j.erase("hidden_size");
    expect_error([&] { ll::parse_config(j.dump(), "", "/x/config.json"); }, {"hidden_size"}, troupe::Errc::invalid_file);
}

BOOST_AUTO_TEST_CASE(nf4_round_trip_matches_codebook_math) {
    at::manual_seed(0);
    const int64_t out = 24, in = 40;  // 960 elements: 15 blocks of 64
    at::Tensor w = at::randn({out, in});
    ll::Nf4Weight q = ll::quantize_nf4(w, 64, /*double_quant=*/false);
    BOOST_CHECK_EQUAL(q.packed.numel(), out * in / 2);
    BOOST_CHECK_EQUAL(q.absmax.numel(), out * in / 64);
    // reference: per block absmax, nearest code (first one on ties), high nibble first
    const float* wp = w.contiguous().data_ptr<float>();
    const uint8_t* pk = q.packed.data_ptr<uint8_t>();
    at::Tensor deq = q.dequantize(at::kFloat).contiguous();
    const float* dp = deq.data_ptr<float>();
    for (int64_t b = 0; b < out * in / 64; ++b) {
        float amax = 0;
        for (int64_t i = 0; i < 64; ++i) amax = std::max(amax, std::fabs(wp[b * 64 + i]));
        BOOST_REQUIRE_CLOSE(q.absmax[b].item<float>(), amax, 1e-5);
        for (int64_t i = 0; i < 64; ++i) {
            const int64_t k = b * 64 + i;
            const float x = wp[k] / amax;
            int best = 0;
            for (int c = 1; c < 16; ++c)
                if (std::fabs(ll::kNf4Codebook[c] - x) < std::fabs(ll::kNf4Codebook[best] - x)) best = c;
            const int code = (k % 2 == 0) ? (pk[k / 2] >> 4) : (pk[k / 2] & 0x0F);
            BOOST_REQUIRE_EQUAL(code, best);
            BOOST_REQUIRE_CLOSE(dp[k] + 1.0f, ll::kNf4Codebook[best] * amax + 1.0f, 1e-4);
        }
    }
    // double quantization: the scales come back within the 8-bit dynamic map's error
    ll::Nf4Weight dq = ll::quantize_nf4(w, 64, true);
    BOOST_CHECK(dq.nested && dq.absmax.scalar_type() == at::kByte);
    const double scale_err = (dq.scales() - q.absmax).abs().max().item<double>();
    BOOST_CHECK_LT(scale_err, 0.02 * q.absmax.max().item<double>());
    BOOST_CHECK(at::equal(dq.packed, q.packed));
    at::Tensor m = ll::dynamic_map_signed();
    BOOST_CHECK_EQUAL(m.numel(), 256);
    BOOST_CHECK_EQUAL(m.max().item<float>(), 1.0f);
    BOOST_CHECK_CLOSE(m.min().item<float>(), -0.99296875f, 1e-4);  // -(0.9859375+1)/2
    // odd element count and a partial last block
    at::Tensor odd = at::randn({7, 11});
    ll::Nf4Weight qo = ll::quantize_nf4(odd, 64, true);
    BOOST_CHECK_EQUAL(qo.packed.numel(), 39);
    BOOST_CHECK_LT((qo.dequantize(at::kFloat) - odd).abs().max().item<double>(), 0.25 * odd.abs().max().item<double>());
}

// The fused decode kernels (GPU builds) against the ATen formulas they replace, in float32, bf16 and
// f16; on CPU builds every *_supported() must say no.
BOOST_AUTO_TEST_CASE(fused_decode_kernels_match_aten) {
    at::manual_seed(1);
    const bool cuda = at::hasCUDA();
    const at::Device dev = cuda ? at::Device("cuda") : at::Device(at::kCPU);
    auto linear = [&](int64_t out, int64_t in, bool nf4) {
        ll::Linear l;
        l.in = in, l.out = out;
        const at::Tensor w = at::randn({out, in}).to(dev) * 0.05;
        if (nf4) {
            l.nf4 = std::make_shared<ll::Nf4Weight>(ll::quantize_nf4(w, 64, true));
            l.nf4_scales = l.nf4->scales().contiguous();
        } else {
            l.weight = w;
        }
        return l;
    };
    auto lora = [&](int64_t out, int64_t in) {
        return ll::LoraWeights{at::randn({8, in}).to(dev) * 0.02, at::randn({out, 8}).to(dev) * 0.1, 2.0};
    };
    auto rel = [](const at::Tensor& a, const at::Tensor& b) {
        return ((a.to(at::kFloat) - b.to(at::kFloat)).norm() / b.to(at::kFloat).norm()).item<double>();
    };
    c10::InferenceMode no_grad;
    const int64_t in = 4096 + 64;
    ll::Linear q = linear(96, in, false), k = linear(32, in, false), v = linear(32, in, false);
    ll::LoraWeights lq = lora(96, in), lv = lora(32, in);
    if (!cuda) {
        const at::Tensor x = at::randn({1, 1, in});
        BOOST_CHECK(!ll::group_linear_supported({&q}, {nullptr}, x));
        BOOST_CHECK(!ll::rms_norm_supported(x, at::randn({in})));
        BOOST_CHECK(!ll::decode_attention_supported(x, at::zeros({1, 2, 8, 16}), 16));
        BOOST_CHECK(!ll::silu_mul_supported(at::randn({2, 8})));
        BOOST_CHECK(!ll::lora_shrink_rows_supported({&lq}, at::randn({2, in})));
        BOOST_TEST_MESSAGE("no CUDA: the fused kernels are not built or not usable here (skipped)");
        return;
    }
    for (at::ScalarType t : {at::kFloat, at::kBFloat16, at::kHalf}) {
        const double tol = t == at::kFloat ? 1e-5 : 1e-2;  // relative L2
        const at::Tensor x = at::randn({1, 1, in}).to(dev, t);
        // three dense matrices with LoRA on two of them, in one call
        for (ll::Linear* l : {&q, &k, &v}) l->weight = l->weight.to(t);
        BOOST_REQUIRE(ll::group_linear_supported({&q, &k, &v}, {&lq, nullptr, &lv}, x));
        auto ref_of = [&](const ll::Linear& l, const ll::LoraWeights* lw) {
            at::Tensor r = at::linear(x, l.nf4 ? l.nf4->dequantize(t) : l.weight);
            if (lw) r = (r + at::linear(at::linear(x.to(at::kFloat), lw->A), lw->B) * lw->scaling).to(t);
            return r;
        };
        at::Tensor ref = at::cat({ref_of(q, &lq), ref_of(k, nullptr), ref_of(v, &lv)}, -1);
        ll::Linear n1 = linear(72, in, true), n2 = linear(40, in, true), n3 = linear(33, in, true);
        at::Tensor rn = at::cat({at::linear(x.to(at::kFloat), n1.nf4->dequantize(at::kFloat)),
                                 at::linear(x.to(at::kFloat), n2.nf4->dequantize(at::kFloat))}, -1);
        ll::LoraWeights l3 = lora(33, in);
        const at::Tensor rn3 = (at::linear(x, n3.nf4->dequantize(t)) +
                                at::linear(at::linear(x.to(at::kFloat), l3.A), l3.B) * l3.scaling).to(t);
        for (int version : {1, 2}) {  // both GEMV kernels (TROUPE_GEMV)
            ll::set_gemv_version(version);
            at::Tensor y = ll::group_linear({&q, &k, &v}, {&lq, nullptr, &lv}, x);
            BOOST_CHECK(y.sizes() == ref.sizes() && y.scalar_type() == t);
            BOOST_CHECK_MESSAGE(rel(y, ref) <= tol, "dense group v" << version << " " << t << ": " << rel(y, ref));
            // NF4: against dequantize + linear in float32; an odd row count and a LoRA pair
            at::Tensor yn = ll::group_linear({&n1, &n2}, {nullptr, nullptr}, x);
            BOOST_CHECK_MESSAGE(rel(yn, rn) <= tol, "nf4 group v" << version << " " << t << ": " << rel(yn, rn));
            at::Tensor yn3 = ll::group_linear({&n3}, {&l3}, x);
            BOOST_CHECK_MESSAGE(rel(yn3, rn3) <= tol, "nf4 + lora v" << version << " " << t << ": " << rel(yn3, rn3));
            at::Tensor yo = ll::group_linear({&k}, {nullptr}, x);  // one matrix, no LoRA
            BOOST_CHECK_MESSAGE(rel(yo, ref_of(k, nullptr)) <= tol, "single v" << version << " " << t);
        }
        ll::set_gemv_version(0);

        // prefill kernels over 5 rows: NF4 dequantization, the LoRA expand, RoPE into the cache, silu·up
        {
            at::Tensor dq = at::empty({72, in}, x.options());
            BOOST_REQUIRE(ll::nf4_dequantize_supported(n1, t));
            ll::nf4_dequantize_into(n1, dq);
            BOOST_CHECK_MESSAGE((dq.to(at::kFloat) - n1.nf4->dequantize(t).to(at::kFloat)).abs().max().item<double>() == 0,
                                "nf4_dequantize " << t);
            const at::Tensor xs = at::randn({1, 5, in}).to(dev, t);
            const at::Tensor base = at::randn({1, 5, 160}).to(dev, t);
            const at::Tensor tt = at::cat({at::linear(xs.to(at::kFloat), lq.A), at::linear(xs.to(at::kFloat), lv.A)}, -1);
            BOOST_REQUIRE(ll::lora_shrink_rows_supported({&lq, nullptr, &lv}, xs));
            const at::Tensor ts = ll::lora_shrink_rows({&lq, nullptr, &lv}, xs);
            BOOST_CHECK_MESSAGE(ts.sizes() == tt.sizes() && rel(ts, tt) <= 1e-5, "lora_shrink_rows " << t << ": " << rel(ts, tt));
            at::Tensor ye = base.clone();
            BOOST_REQUIRE(ll::lora_expand_rows_supported({&q, &k, &v}, {&lq, nullptr, &lv}, tt, ye));
            ll::lora_expand_rows({&q, &k, &v}, {&lq, nullptr, &lv}, tt, ye);
            const at::Tensor be = base.to(at::kFloat);
            const at::Tensor ye_ref =
                at::cat({be.narrow(-1, 0, 96) + at::linear(tt.narrow(-1, 0, 8), lq.B) * lq.scaling, be.narrow(-1, 96, 32),
                         be.narrow(-1, 128, 32) + at::linear(tt.narrow(-1, 8, 8), lv.B) * lv.scaling}, -1).to(t);
            BOOST_CHECK_MESSAGE(rel(ye, ye_ref) <= tol, "lora_expand_rows " << t << ": " << rel(ye, ye_ref));

            const int64_t H = 4, KV = 2, D = 16, T = 3, past = 2, cap = 8;
            const at::Tensor qkv = at::randn({1, T, (H + 2 * KV) * D}).to(dev, t);
            const at::Tensor ang = (at::arange(past, past + T).to(dev, at::kFloat).view({T, 1}) *
                                    at::arange(D).to(dev, at::kFloat).view({1, D}) * 0.1);
            const at::Tensor cos = ang.cos().to(t), sin = ang.sin().to(t);
            at::Tensor kc = at::randn({1, KV, cap, D}).to(dev, t), vc = at::randn({1, KV, cap, D}).to(dev, t);
            at::Tensor kr = kc.clone(), vr = vc.clone();
            BOOST_REQUIRE(ll::rope_rows_supported(qkv, cos, kc, vc, D));
            const at::Tensor qo = ll::rope_rows(qkv, cos, sin, kc, vc, past, H, D);
            auto rot = [&](const at::Tensor& a) {  // a [1, heads, T, D]
                return a * cos + at::cat({-a.narrow(-1, D / 2, D / 2), a.narrow(-1, 0, D / 2)}, -1) * sin;
            };
            const at::Tensor q_ref = rot(qkv.narrow(-1, 0, H * D).view({1, T, H, D}).transpose(1, 2));
            kr.narrow(2, past, T).copy_(rot(qkv.narrow(-1, H * D, KV * D).view({1, T, KV, D}).transpose(1, 2)));
            vr.narrow(2, past, T).copy_(qkv.narrow(-1, (H + KV) * D, KV * D).view({1, T, KV, D}).transpose(1, 2));
            BOOST_CHECK_MESSAGE(rel(qo, q_ref) <= tol, "rope_rows q " << t);
            BOOST_CHECK_MESSAGE(rel(kc, kr) <= tol && rel(vc, vr) <= tol, "rope_rows cache " << t);

            const at::Tensor gu = at::randn({1, 5, 2 * 96}).to(dev, t);
            BOOST_REQUIRE(ll::silu_mul_supported(gu));
            const at::Tensor silu_ref = at::silu(gu.narrow(-1, 0, 96)) * gu.narrow(-1, 96, 96);
            BOOST_CHECK_MESSAGE(rel(ll::silu_mul(gu), silu_ref) <= tol, "silu_mul rows " << t);
        }
        BOOST_CHECK(!ll::group_linear_supported({&q}, {nullptr}, at::randn({2, in}).to(dev, t)));  // two rows

        const at::Tensor w = at::randn({in}).to(dev, t), h = x.to(at::kFloat);
        const at::Tensor rms_ref = w * (h * at::rsqrt(h.pow(2).mean(-1, true) + 1e-5)).to(t);
        BOOST_CHECK_MESSAGE(rel(ll::rms_norm(x, w, 1e-5), rms_ref) <= tol, "rms_norm " << t);

        // attention of one position over a static cache: q heads 4, kv heads 2, d 16, capacity 8, position 5
        const int64_t H = 4, KV = 2, D = 16, cap = 8, pos = 5;
        at::Tensor kc = at::randn({1, KV, cap, D}).to(dev, t), vc = at::randn({1, KV, cap, D}).to(dev, t);
        at::Tensor kc_ref = kc.clone(), vc_ref = vc.clone();
        const at::Tensor qkv = at::randn({1, 1, (H + 2 * KV) * D}).to(dev, t);
        const at::Tensor ang = at::arange(D).to(dev, at::kFloat).view({1, D}) * 0.37;
        const at::Tensor cos = ang.cos().to(t), sin = ang.sin().to(t);
        const at::Tensor position = at::full({1}, pos, at::TensorOptions().dtype(at::kLong).device(dev));
        BOOST_REQUIRE(ll::decode_attention_supported(qkv, kc, D));
        at::Tensor qr = ll::rope_into_cache(qkv, cos, sin, position, kc, vc, H, D);
        at::Tensor out = ll::decode_attention(qr, kc, vc, position, H, D, 0.25);
        auto rot = [&](const at::Tensor& a) { return a * cos + at::cat({-a.narrow(-1, D / 2, D / 2), a.narrow(-1, 0, D / 2)}, -1) * sin; };
        const at::Tensor q4 = rot(qkv.narrow(-1, 0, H * D).view({H, D}));
        kc_ref.select(2, pos).copy_(rot(qkv.narrow(-1, H * D, KV * D).view({KV, D})).unsqueeze(0));
        vc_ref.select(2, pos).copy_(qkv.narrow(-1, (H + KV) * D, KV * D).view({1, KV, D}));
        BOOST_CHECK_MESSAGE(rel(qr.view({H, D}), q4) <= tol, "rope q " << t);
        BOOST_CHECK_MESSAGE(rel(kc, kc_ref) <= tol && rel(vc, vc_ref) <= tol, "cache write " << t);
        const at::Tensor keys = kc_ref[0].narrow(1, 0, pos + 1), values = vc_ref[0].narrow(1, 0, pos + 1);
        const at::Tensor scores = at::matmul(q4.view({KV, H / KV, D}), keys.transpose(1, 2)) * 0.25;
        const at::Tensor attn_ref = at::matmul(at::softmax(scores, -1, at::kFloat).to(t), values).reshape({1, 1, H * D});
        BOOST_CHECK_MESSAGE(rel(out, attn_ref) <= tol, "decode_attention " << t << ": " << rel(out, attn_ref));
        // EEVE's head size over many positions, through both attention kernels.
        const int attention_before = ll::decode_attention_version();
        for (int kernel : {2, 1}) {
            ll::set_decode_attention_version(kernel);
            const int64_t H2 = 8, KV2 = 2, D2 = 128, cap2 = 200, pos2 = 150;
            const at::Tensor k2 = at::randn({1, KV2, cap2, D2}).to(dev, t), v2 = at::randn({1, KV2, cap2, D2}).to(dev, t);
            const at::Tensor q2 = at::randn({1, 1, H2 * D2}).to(dev, t);
            const at::Tensor p2 = at::full({1}, pos2, at::TensorOptions().dtype(at::kLong).device(dev));
            const at::Tensor o2 = ll::decode_attention(q2, k2, v2, p2, H2, D2, 0.088);
            const at::Tensor s2 = (at::matmul(q2.view({KV2, H2 / KV2, D2}), k2[0].narrow(1, 0, pos2 + 1).transpose(1, 2)) * 0.088);
            const at::Tensor ref2 =
                at::matmul(at::softmax(s2, -1, at::kFloat).to(t), v2[0].narrow(1, 0, pos2 + 1)).reshape({1, 1, H2 * D2});
            BOOST_CHECK_MESSAGE(rel(o2, ref2) <= tol, "decode_attention d=128 (v" << kernel << ") " << t << ": " << rel(o2, ref2));
        }
        ll::set_decode_attention_version(attention_before);

        const at::Tensor gu = at::randn({1, 1, 2 * in}).to(dev, t);
        const at::Tensor silu_ref = at::silu(gu.narrow(-1, 0, in)) * gu.narrow(-1, in, in);
        BOOST_CHECK_MESSAGE(rel(ll::silu_mul(gu), silu_ref) <= tol, "silu_mul " << t);
    }
}

// Which GEMV kernel group_linear picks: auto (0, the default) = v2 for dense weights and v1 for NF4;
// 1 or 2 forces one for both; anything else is refused. Plain settings, so checked on every build.
BOOST_AUTO_TEST_CASE(gemv_version_choice) {
    const int before = ll::gemv_version();
    ll::set_gemv_version(0);
    BOOST_TEST(ll::gemv_version_for(false) == 2);
    BOOST_TEST(ll::gemv_version_for(true) == 1);
    for (int v : {1, 2}) {
        ll::set_gemv_version(v);
        BOOST_TEST(ll::gemv_version_for(false) == v);
        BOOST_TEST(ll::gemv_version_for(true) == v);
    }
    BOOST_CHECK_THROW(ll::set_gemv_version(3), troupe::Error);
    BOOST_TEST(ll::gemv_version() == 2);  // a refused setting changes nothing
    ll::set_gemv_version(before);
}

// Which decode attention kernel runs: 1 unless TROUPE_DECODE_ATTENTION=vec (ctest sets neither), 1 or 2
// by set_decode_attention_version; anything else is refused and changes nothing.
BOOST_AUTO_TEST_CASE(decode_attention_version_choice) {
    const char* env = std::getenv("TROUPE_DECODE_ATTENTION");
    const int before = ll::decode_attention_version();
    BOOST_TEST(before == (env && std::string(env) == "vec" ? 2 : 1));
    ll::set_decode_attention_version(2);
    BOOST_TEST(ll::decode_attention_version() == 2);
    BOOST_CHECK_THROW(ll::set_decode_attention_version(0), troupe::Error);
    BOOST_CHECK_THROW(ll::set_decode_attention_version(3), troupe::Error);
    BOOST_TEST(ll::decode_attention_version() == 2);
    ll::set_decode_attention_version(before);
}

BOOST_AUTO_TEST_CASE(bnb_checkpoint_round_trip) {
    // Quantize the fixture's linears, save them in transformers' bitsandbytes layout, load back.
    fs::path dir = scratch("bnb");
    const ll::Model dense = ll::Model::load((fixture_dir() / "base").string());
    ll::LoadOptions o;
    o.quantize = "nf4";
    const ll::Model q = ll::Model::load((fixture_dir() / "base").string(), o);
    BOOST_CHECK(q.quantized());
    BOOST_CHECK_LT(q.weight_bytes(), dense.weight_bytes());
    const troupe::st::Checkpoint ck = troupe::st::Checkpoint::open_dir((fixture_dir() / "base").string());
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (const std::string& name : ck.names()) {
        const std::string suffix = ".weight";
        const std::string module = name.substr(0, name.size() - suffix.size());
        const int64_t idx = q.linear_index(module);
        if (idx >= 0) {
            for (auto& t : ll::bnb_nf4_tensors(*q.linear(idx).nf4, module)) tensors.push_back(t);
        } else {
            tensors.emplace_back(name, ck.tensor(name));
        }
    }
    troupe::st::save((dir / "model.safetensors").string(), tensors);
    nlohmann::json cfg = load_json(fixture_dir() / "base" / "config.json");
    cfg["quantization_config"] = {{"quant_method", "bitsandbytes"},   {"load_in_4bit", true},
                                  {"bnb_4bit_quant_type", "nf4"},     {"bnb_4bit_use_double_quant", true},
                                  {"bnb_4bit_compute_dtype", "float32"}};
    write(dir / "config.json", cfg.dump());
    const ll::Model loaded = ll::Model::load(dir.string());
    BOOST_CHECK(loaded.quantized());
    c10::InferenceMode guard;
    at::Tensor ids = at::arange(1, 30, at::kLong);
    const double d = (loaded.forward(ids) - q.forward(ids)).abs().max().item<double>();
    BOOST_CHECK_EQUAL(d, 0.0);
    // NF4 logits stay near the dense ones (quantization error only)
    const double dd = (q.forward(ids) - dense.forward(ids)).abs().max().item<double>();
    BOOST_TEST_MESSAGE("nf4 vs dense max |diff| " << dd);
    BOOST_CHECK_GT(dd, 0.0);
    BOOST_CHECK_LT(dd, 10.0);
}

BOOST_AUTO_TEST_CASE(adapter_save_load_and_autograd) {
    const ll::Model model = ll::Model::load((fixture_dir() / "base").string());
    ll::AdapterConfig cfg;
    cfg.r = 4;
    cfg.lora_alpha = 8;
    cfg.use_rslora = true;
    cfg.target_modules = {"q_proj", "down_proj"};
    ll::Adapter ad = ll::Adapter::create(model, cfg, 7);
    BOOST_CHECK_EQUAL(ad.adapted_count(), 2 * model.config().num_layers);
    BOOST_CHECK_CLOSE(ad.config().scaling(), 4.0, 1e-9);
    // B = 0 → the adapter is the identity at init
    at::Tensor ids = at::arange(1, 20, at::kLong);
    {
        c10::InferenceMode guard;
        BOOST_CHECK_EQUAL((model.forward(ids) - model.logits(ids, &ad)).abs().max().item<double>(), 0.0);
    }
    ad.set_requires_grad(true);
    at::Tensor logits = model.logits(ids, &ad);
    at::Tensor loss = at::cross_entropy_loss(logits.squeeze(0).slice(0, 0, -1), ids.slice(0, 1));
    loss.backward();
    int with_grad = 0;
    for (const at::Tensor& p : ad.parameters())
        if (p.grad().defined() && p.grad().abs().sum().item<double>() > 0) ++with_grad;
    BOOST_CHECK_GE(with_grad, ad.adapted_count());  // every B gets a gradient (A's are 0 while B = 0)
    // a nonzero B, saved in PEFT layout, loads back to the same logits
    ad.set_requires_grad(false);
    for (const at::Tensor& p : ad.parameters())
        if (p.size(1) == 4) const_cast<at::Tensor&>(p).copy_(at::randn_like(p) * 0.1);
    fs::path dir = scratch("adapter_save");
    ad.save(dir.string());
    const ll::Adapter back = ll::Adapter::load(dir.string(), model);
    c10::InferenceMode guard;
    BOOST_CHECK_EQUAL((model.forward(ids, {&ad}) - model.forward(ids, {&back})).abs().max().item<double>(), 0.0);
    const ll::Model merged = model.merged(back);
    BOOST_CHECK_LT((merged.forward(ids) - model.forward(ids, {&back})).abs().max().item<double>(), 1e-4);
}

BOOST_AUTO_TEST_CASE(sampler_rules) {
    std::vector<float> logits = {1.0f, 3.0f, 2.0f, -1.0f, 0.5f};
    troupe::SamplingParams p;
    p.temperature = 1.0f;
    p.top_k = 2;
    p.top_p = 1.0f;
    p.repetition_penalty = 1.0f;
    auto d = ll::sampling_distribution(logits, {}, p);
    BOOST_CHECK_EQUAL(d[0], 0.0);
    BOOST_CHECK_GT(d[1], d[2]);
    BOOST_CHECK_CLOSE(d[1] + d[2], 1.0, 1e-9);
    p.top_k = 0;
    p.top_p = 0.5f;  // token 1 alone has p ≈ 0.63 > 0.5
    d = ll::sampling_distribution(logits, {}, p);
    BOOST_CHECK_CLOSE(d[1], 1.0, 1e-9);
    p.top_p = 1.0f;
    p.repetition_penalty = 2.0f;  // 3 → 1.5 (below 2), -1 → -2
    d = ll::sampling_distribution(logits, {1, 3}, p);
    BOOST_CHECK_GT(d[2], d[1]);
    // same seed → same draws; greedy = argmax
    p.seed = 42;
    p.repetition_penalty = 1.0f;
    at::Tensor t = at::tensor(logits);
    ll::Sampler a(p), b(p);
    for (int i = 0; i < 20; ++i) BOOST_CHECK_EQUAL(a.next(t, {}), b.next(t, {}));
    p.greedy = true;
    BOOST_CHECK_EQUAL(ll::Sampler(p).next(t, {}), 1);
}

BOOST_AUTO_TEST_CASE(generation_stops) {
    const ll::Model model = ll::Model::load((fixture_dir() / "base").string());
    struct CharDecoder : ll::TokenDecoder {  // one letter per id: 'a' + id % 3 → "abcabc…" patterns
        std::string push(int64_t id) override { return std::string(1, char('a' + id % 3)); }
        std::string flush() override { return {}; }
    };
    ll::GenerateOptions o;
    o.sampling.greedy = true;
    o.sampling.repetition_penalty = 1.0f;
    o.sampling.max_new_tokens = 12;
    const std::vector<int64_t> prompt = {1, 10, 20, 30};
    CharDecoder dec;
    ll::Generation all = ll::generate(model, prompt, nullptr, o, &dec);
    BOOST_CHECK(all.stop == troupe::StopReason::length);
    BOOST_CHECK_EQUAL(all.ids.size(), 12u);
    BOOST_REQUIRE_EQUAL(all.text.size(), 12u);
    // stop string = the text of tokens 3..4: generation ends there and the text is cut before it
    o.stop_strings = {all.text.substr(3, 2)};
    const size_t first = all.text.find(o.stop_strings[0]);
    std::string streamed;
    ll::Generation s = ll::generate(model, prompt, nullptr, o, &dec, [&](const std::string& piece) {
        streamed += piece;
        return true;
    });
    BOOST_CHECK(s.stop == troupe::StopReason::stop_string);
    BOOST_CHECK_EQUAL(s.text, all.text.substr(0, first));
    BOOST_CHECK_EQUAL(streamed, s.text);
    // EOS: make the 5th generated id an EOS id
    o.stop_strings.clear();
    o.eos_ids = {all.ids[4]};
    ll::Generation e = ll::generate(model, prompt, nullptr, o, &dec);
    BOOST_CHECK(e.stop == troupe::StopReason::eos);
    BOOST_CHECK_EQUAL(e.ids.back(), all.ids[4]);
    // cancel from the stream callback
    o.eos_ids.clear();
    int calls = 0;
    ll::Generation c = ll::generate(model, prompt, nullptr, o, &dec, [&](const std::string&) { return ++calls < 3; });
    BOOST_CHECK(c.stop == troupe::StopReason::cancelled);
    BOOST_CHECK_EQUAL(calls, 3);
}
