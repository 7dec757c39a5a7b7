// Conformance of the S2 (SoVITS v2) port against upstream's golden tensors
// (<TROUPE_CONFORMANCE_DIR>/gpt-sovits/s2): every case listed by s2/cases.json.
#define BOOST_TEST_MODULE s2_conformance
#include <boost/test/unit_test.hpp>

#include "s2/model.hpp"
#include "s2_fixture.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <c10/core/GradMode.h>

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

// ---- loading and robustness --------------------------------------------------------------------

#include "s2/synthesizer.hpp"

#include <troupe/torch/torch_checkpoint.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace {

// The first decode case and its inputs, for the checks below.
struct FirstCase {
    at::Tensor codes, text, ge, audio;
    s2::DecodeOptions opt;
};

FirstCase first_case(const s2::S2Model& m) {
    const auto refs = st::File::open(s2test::gsv_dir() + "/s2/refs.safetensors");
    const auto& c = cases()["cases"].at(0);
    const auto fx = st::File::open(s2test::gsv_dir() + "/s2/decode_" + c["name"].get<std::string>() + ".safetensors");
    FirstCase f;
    f.codes = fx.tensor("codes");
    f.text = fx.tensor("text");
    std::vector<at::Tensor> specs;
    for (const auto& r : c["refer"]) specs.push_back(refs.tensor(r.get<std::string>()).to(at::kFloat));
    f.ge = m.mean_style(specs);
    f.opt.noise_scale = c["noise_scale"].get<double>();
    f.opt.speed = c["speed"].get<double>();
    f.audio = fx.tensor("audio");
    return f;
}

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("troupe-s2-" + std::to_string(::getpid()) + "-" + name)).string();
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

BOOST_AUTO_TEST_CASE(safetensors_copy_decodes_identically) {
    // models/s2.safetensors is an optional twin of s2.pth (the fixture's README).
    const std::string twin = s2test::gsv_dir() + "/models/s2.safetensors";
    if (!std::filesystem::exists(twin)) {
        BOOST_TEST_MESSAGE("skipped: " << twin << " is absent (optional)");
        return;
    }
    const auto st_model = s2::S2Model::load(twin);
    FirstCase f = first_case(model());
    const at::Tensor a = model().decode(f.codes, f.text, f.ge, f.opt).audio;
    const at::Tensor b = st_model.decode(f.codes, f.text, f.ge, f.opt).audio;
    BOOST_TEST(at::equal(a, b));
}

BOOST_AUTO_TEST_CASE(version_tagged_pth_loads) {
    // Newer upstream files overwrite "PK" with a 2-byte tag; the weights decide what the model is.
    std::string bytes = read_bytes(s2test::gsv_dir() + "/models/s2.pth");
    bytes[0] = '0';
    bytes[1] = '5';
    const std::string path = temp_path("tagged.pth");
    std::ofstream(path, std::ios::binary) << bytes;
    const auto tagged = s2::S2Model::load(path);
    FirstCase f = first_case(model());
    BOOST_TEST(at::equal(tagged.decode(f.codes, f.text, f.ge, f.opt).audio, model().decode(f.codes, f.text, f.ge, f.opt).audio));
    std::filesystem::remove(path);
}

BOOST_AUTO_TEST_CASE(truncated_or_garbage_checkpoint_is_a_clear_error) {
    const std::string bytes = read_bytes(s2test::gsv_dir() + "/models/s2.pth");
    for (size_t keep : {size_t(0), size_t(100), bytes.size() / 2, bytes.size() - 10}) {
        const std::string path = temp_path("truncated.pth");
        std::ofstream(path, std::ios::binary) << bytes.substr(0, keep);
        BOOST_TEST_CONTEXT("kept " << keep << " bytes") {
            try {
                (void)s2::S2Model::load(path);
                BOOST_ERROR("a truncated checkpoint loaded");
            } catch (const troupe::Error& e) {
                BOOST_TEST(std::string(e.what()).find(path) != std::string::npos);
            }
        }
        std::filesystem::remove(path);
    }
    BOOST_CHECK_THROW((void)s2::S2Model::load(temp_path("missing.pth")), troupe::Error);
}

BOOST_AUTO_TEST_CASE(training_build_matches_folded_inference) {
    // Built for training, weight norm stays as weight_g/weight_v parameters (and enc_q exists);
    // in eval mode it must compute what the folded inference model computes.
    const auto ck = pt::Checkpoint::open(s2test::gsv_dir() + "/models/s2.pth");
    auto state = ck.state_dict("weight");
    const nlohmann::json hps = pt::to_json(ck.root().at("config"));
    s2::S2Config cfg = s2::S2Config::from_json(hps, "s2.pth");
    cfg.resolve_from_weights(state, "s2.pth");
    auto net = std::make_shared<s2::SynthesizerImpl>(cfg, /*training=*/true);
    BOOST_TEST(net->enc_q != nullptr);
    bool has_g = false;
    for (const auto& p : net->named_parameters()) has_g |= p.key().find("weight_g") != std::string::npos;
    BOOST_TEST(has_g);
    // enc_q is not in exported weights: give it the freshly initialised values.
    for (const auto& p : net->named_parameters())
        if (!state.count(p.key()) && p.key().rfind("enc_q.", 0) == 0) state[p.key()] = p.value().detach().clone();
    s2::load_state(*net, state, "", "s2.pth");
    net->eval();
    c10::NoGradGuard no_grad;
    FirstCase f = first_case(model());
    const at::Tensor ge_train = net->style(st::File::open(s2test::gsv_dir() + "/s2/refs.safetensors").tensor("spec_a").to(at::kFloat));
    const at::Tensor ge_inf = model().style(st::File::open(s2test::gsv_dir() + "/s2/refs.safetensors").tensor("spec_a").to(at::kFloat));
    BOOST_TEST(compare(ge_train, ge_inf).max_abs <= 1e-6);
    // Generator and flow with g/v weights vs folded weights.
    const auto r = model().decode(f.codes, f.text, f.ge, f.opt);
    const at::Tensor z = net->flow->forward(r.m_p, r.y_mask, r.ge, true);
    const at::Tensor audio = net->dec->forward(z * r.y_mask, r.ge);
    auto d = compare(audio, r.audio);
    report("training-build audio vs folded", d);
    BOOST_TEST(d.max_abs <= 1e-5);
}

BOOST_AUTO_TEST_CASE(noise_is_seeded) {
    FirstCase f = first_case(model());
    s2::DecodeOptions o = f.opt;
    o.noise_scale = 0.5;
    o.seed = 7;
    const at::Tensor a = model().decode(f.codes, f.text, f.ge, o).audio;
    const at::Tensor b = model().decode(f.codes, f.text, f.ge, o).audio;
    o.seed = 8;
    const at::Tensor c = model().decode(f.codes, f.text, f.ge, o).audio;
    BOOST_TEST(at::equal(a, b));
    BOOST_TEST(!at::equal(a, c));
    BOOST_TEST(compare(a, f.audio).rel_l2 > 1e-3);  // the noise really enters
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_errors) {
    FirstCase f = first_case(model());
    const int64_t bins = model().config().codebook_size, vocab = model().config().vocab;
    BOOST_CHECK_THROW(model().decode(f.codes + bins, f.text, f.ge, f.opt), troupe::Error);
    BOOST_CHECK_THROW(model().decode(f.codes, f.text + vocab, f.ge, f.opt), troupe::Error);
    BOOST_CHECK_THROW(model().decode(f.codes.slice(2, 0, 0), f.text, f.ge, f.opt), troupe::Error);
    BOOST_CHECK_THROW(model().decode(f.codes, f.text.slice(1, 0, 0), f.ge, f.opt), troupe::Error);
    s2::DecodeOptions o = f.opt;
    o.speed = 0;
    BOOST_CHECK_THROW(model().decode(f.codes, f.text, f.ge, o), troupe::Error);
    BOOST_CHECK_THROW(model().spectrogram(at::zeros({10})), troupe::Error);
    BOOST_CHECK_THROW(model().extract_latent(at::zeros({1, 5, 10})), troupe::Error);
}

// Speeds below and above 1 on the smallest inputs (one code, one phone): the encoder output is
// stretched to int(F / speed) + 1 frames (upstream's interpolate), the mask with it, and the waveform
// has that many frames of samples, all finite. (A held-out fixture set's `speed` case, 0.9, was
// reported to crash the end-to-end test after it; this is the product path it took, on tiny sizes.)
BOOST_AUTO_TEST_CASE(speed_on_tiny_inputs) {
    FirstCase f = first_case(model());
    const at::Tensor codes = f.codes.slice(2, 0, 1), text = f.text.slice(1, 0, 1);
    const s2test::S2AudioFacts facts = s2test::s2_audio_facts();
    const int64_t frames = model().config().semantic_frame_rate == "25hz" ? 2 : 1;
    for (double speed : {0.9, 0.25, 1.0, 1.25, 4.0}) {
        BOOST_TEST_CONTEXT("speed " << speed) {
            s2::DecodeOptions o = f.opt;
            o.speed = speed;
            o.noise_scale = 0.5;
            const s2::DecodeResult r = model().decode(codes, text, f.ge, o);
            const int64_t want = speed == 1.0 ? frames : int64_t(double(frames) / speed) + 1;
            BOOST_TEST(r.y_mask.size(-1) == want);
            BOOST_TEST(r.audio.numel() == want * facts.hop);
            BOOST_TEST(at::isfinite(r.audio).all().item<bool>());
        }
    }
}
