// Conformance of the S2 (SoVITS v2) port against upstream's golden tensors
// (<TROUPE_CONFORMANCE_DIR>/gpt-sovits/s2): every case listed by s2/cases.json.
#define BOOST_TEST_MODULE s2_conformance
#include <boost/test/unit_test.hpp>

#include "s2/model.hpp"
#include "s2_fixture.hpp"

#include <troupe/torch/safetensors.hpp>

#include <iostream>
#include <memory>

using namespace troupe;
using namespace troupe::sovits;
using s2test::compare;

namespace {

const s2::S2Model& model() {
    static std::unique_ptr<s2::S2Model> m;
    if (!m) {
        const std::string models = s2test::gsv_dir() + "/models/";
        m = std::make_unique<s2::S2Model>(s2::S2Model::load(models + "s2.pth"));  // the user format
    }
    return *m;
}

const nlohmann::json& cases() {
    static nlohmann::json j = s2test::read_json(s2test::gsv_dir() + "/s2/cases.json");
    return j;
}

void report(const std::string& what, const s2test::Diff& d) {
    std::cout << what << ": max abs " << d.max_abs << ", rel L2 " << d.rel_l2 << "\n";
}

}  // namespace

BOOST_AUTO_TEST_CASE(reference_spectrogram_and_style) {
    const auto refs = st::File::open(s2test::gsv_dir() + "/s2/refs.safetensors");
    BOOST_REQUIRE(cases().contains("refs") && !cases()["refs"].empty());
    for (const auto& [name, info] : cases()["refs"].items()) {
        BOOST_TEST_CONTEXT("ref " << name) {
            int rate = 0;
            at::Tensor wav = s2test::read_wav_samples(s2test::gsv_dir() + "/s2/ref_" + name + ".wav", &rate);
            BOOST_TEST(rate == model().config().sampling_rate);
            BOOST_TEST(wav.size(0) == info["samples"].get<int64_t>());
            at::Tensor spec = model().spectrogram(wav);
            const at::Tensor want_spec = refs.tensor("spec_" + name);
            BOOST_REQUIRE(spec.sizes() == want_spec.sizes());
            BOOST_TEST(spec.size(2) == info["frames"].get<int64_t>());
            auto d = compare(spec, want_spec);
            report("spec_" + name, d);
            BOOST_TEST(d.rel_l2 <= 1e-5);
            BOOST_TEST(d.max_abs <= 1e-4);

            // Style vector from our spectrogram and from the reference one.
            const at::Tensor want_ge = refs.tensor("ge_" + name);
            auto dg = compare(model().style(spec), want_ge);
            report("ge_" + name + " (own spec)", dg);
            BOOST_TEST(dg.max_abs <= 1e-4);
            auto dg2 = compare(model().style(want_spec.to(at::kFloat)), want_ge);
            report("ge_" + name + " (fixture spec)", dg2);
            BOOST_TEST(dg2.max_abs <= 1e-4);
        }
    }
}

BOOST_AUTO_TEST_CASE(extract_latent_codes) {
    const auto lat = st::File::open(s2test::gsv_dir() + "/s2/latents.safetensors");
    BOOST_REQUIRE(cases().contains("latents") && !cases()["latents"].empty());
    for (const auto& [name, info] : cases()["latents"].items()) {
        BOOST_TEST_CONTEXT("latent " << name) {
            const at::Tensor ssl = lat.tensor("ssl_" + name).to(at::kFloat);
            auto d = compare(model().ssl_latent(ssl), lat.tensor("latent_" + name));
            report("latent_" + name, d);
            BOOST_TEST(d.max_abs <= 1e-4);
            const at::Tensor codes = model().extract_latent(ssl);
            const at::Tensor want = lat.tensor("codes_" + name);
            BOOST_REQUIRE(codes.sizes() == want.sizes());
            BOOST_TEST(at::equal(codes.cpu(), want));
            BOOST_TEST(at::equal(codes.flatten().cpu(), s2test::ids_tensor(info["codes"])));
        }
    }
}

BOOST_AUTO_TEST_CASE(decode_cases) {
    const auto refs = st::File::open(s2test::gsv_dir() + "/s2/refs.safetensors");
    BOOST_REQUIRE(cases().contains("cases") && !cases()["cases"].empty());
    for (const auto& c : cases()["cases"]) {
        const std::string name = c["name"].get<std::string>();
        BOOST_TEST_CONTEXT("decode " << name) {
            const auto fx = st::File::open(s2test::gsv_dir() + "/s2/decode_" + name + ".safetensors");
            std::vector<at::Tensor> specs;
            for (const auto& r : c["refer"]) specs.push_back(refs.tensor(r.get<std::string>()).to(at::kFloat));
            const at::Tensor codes = fx.tensor("codes");
            const at::Tensor text = fx.tensor("text");
            BOOST_TEST(at::equal(codes.flatten(), s2test::ids_tensor(c["codes"])));
            BOOST_TEST(at::equal(text.flatten(), s2test::ids_tensor(c["text_ids"])));

            s2::DecodeOptions opt;
            opt.noise_scale = c["noise_scale"].get<double>();
            opt.speed = c["speed"].get<double>();
            const at::Tensor ge = model().mean_style(specs);
            s2::DecodeResult r = model().decode(codes, text, ge, opt);

            for (const char* key : {"ge", "enc_p_x", "m_p", "logs_p", "y_mask", "z"}) {
                const at::Tensor* got = nullptr;
                const std::string k = key;
                if (k == "ge") got = &r.ge;
                else if (k == "enc_p_x") got = &r.enc_p_x;
                else if (k == "m_p") got = &r.m_p;
                else if (k == "logs_p") got = &r.logs_p;
                else if (k == "y_mask") got = &r.y_mask;
                else got = &r.z;
                if (!fx.contains(k)) continue;
                const at::Tensor want = fx.tensor(k);
                BOOST_TEST_CONTEXT(k) {
                    BOOST_REQUIRE(got->sizes() == want.sizes());
                    auto d = compare(*got, want);
                    report(name + "." + k, d);
                    BOOST_TEST(d.max_abs <= 1e-4);
                }
            }
            const at::Tensor want_audio = fx.tensor("audio");
            BOOST_REQUIRE(r.audio.sizes() == want_audio.sizes());
            BOOST_TEST(r.audio.size(2) == c["samples"].get<int64_t>());
            BOOST_TEST(r.y_mask.size(2) == c["frames"].get<int64_t>());
            auto d = compare(r.audio, want_audio);
            report(name + ".audio", d);
            BOOST_TEST(d.rel_l2 <= 1e-4);
            BOOST_TEST(d.max_abs <= 1e-4);
        }
    }
}
