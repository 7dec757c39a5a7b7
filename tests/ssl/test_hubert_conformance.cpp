// HuBERT encoder vs the transformers reference (../shared/conformance/hubert): every input the fixture lists.
#define BOOST_TEST_MODULE hubert_conformance
#include <boost/test/unit_test.hpp>

#include "../common/torch_save_writer.hpp"
#include "fixture.hpp"

#include <troupe/ssl/encoder.hpp>
#include <troupe/ssl/hubert.hpp>

#include <c10/core/GradMode.h>

#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace ssltest;
using troupe::ssl::Encoder;

namespace {

struct Fixture {
    std::string dir = conformance_root() + "/hubert";
    nlohmann::json cases = read_json(dir + "/cases.json");
    c10::NoGradGuard no_grad;
};

/// Checks every tensor the input lists against `out`; returns how many were compared.
int check_outputs(const std::string& name, const nlohmann::json& tensors, const troupe::ssl::EncoderOutput& out,
                  const troupe::st::File& ref, double tol) {
    int checked = 0;
    for (const auto& full : tensors) {
        const std::string key = full.get<std::string>();
        BOOST_REQUIRE_MESSAGE(key.rfind(name + ".", 0) == 0, "tensor " << key << " does not belong to " << name);
        const std::string leaf = key.substr(name.size() + 1);
        at::Tensor mine;
        if (leaf == "last_hidden_state") {
            mine = out.last_hidden_state;
        } else if (leaf.rfind("trace.", 0) == 0) {
            auto it = out.traces.find(leaf.substr(6));
            BOOST_REQUIRE_MESSAGE(it != out.traces.end(), "no trace for " << key);
            mine = it->second;
        } else {
            BOOST_FAIL("unknown fixture tensor " << key);
        }
        at::Tensor expected = ref.tensor(key);
        BOOST_REQUIRE_MESSAGE(mine.sizes() == expected.sizes(), key << ": shape " << mine.sizes() << " vs " << expected.sizes());
        const double d = max_abs_diff(mine, expected);
        BOOST_TEST_MESSAGE(key << " max abs diff " << d);
        BOOST_CHECK_MESSAGE(d <= tol, key << " max abs diff " << d << " > " << tol);
        ++checked;
    }
    return checked;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(every_input_matches_reference, Fixture) {
    const Encoder enc = Encoder::load_dir(dir + "/model", load_options());
    BOOST_TEST_MESSAGE("device " << device_name());
    const auto ref = troupe::st::File::open(dir + "/cases.safetensors");
    BOOST_REQUIRE(!cases["inputs"].empty());
    if (cases.contains("feature_extractor"))
        BOOST_CHECK_EQUAL(enc.feature_extractor().do_normalize, cases["feature_extractor"].value("do_normalize", true));
    for (const auto& input : cases["inputs"]) {
        const std::string name = input["name"];
        BOOST_TEST_CONTEXT("input " << name) {
            int rate = 0;
            const std::vector<float> wav = read_wav(dir + "/" + input["wav_file"].get<std::string>(), rate);
            BOOST_CHECK_EQUAL(rate, enc.feature_extractor().sampling_rate);
            BOOST_CHECK_EQUAL(int64_t(wav.size()), input["num_samples"].get<int64_t>());
            at::Tensor waveform = to_tensor(wav);
            const auto& refs = input["input_tensors"];
            BOOST_CHECK_EQUAL(max_abs_diff(waveform, tensor_ref(dir, refs["waveform"])), 0.0);

            at::Tensor input_values = enc.prepare(waveform);
            const double dv = max_abs_diff(input_values, tensor_ref(dir, refs["input_values"]));
            BOOST_TEST_MESSAGE(name << ".input_values max abs diff " << dv);
            BOOST_CHECK_LE(dv, 1e-5);

            BOOST_CHECK_EQUAL(enc.config().num_frames(int64_t(wav.size())), input["num_frames"].get<int64_t>());
            const auto out = enc.forward(input_values, /*with_traces=*/true);
            BOOST_CHECK_GT(check_outputs(name, input["tensors"], out, ref, 1e-4), 0);

            // The GPT-SoVITS entry point: without pad and with normalisation it is the plain forward pass...
            at::Tensor same = troupe::ssl::hubert_features(enc, waveform, {/*append_silence=*/false, /*normalize=*/true});
            BOOST_CHECK_LE(max_abs_diff(same, out.last_hidden_state), 1e-6);
            // ...and by default it appends 9600 zeros and skips the normalisation (upstream behaviour).
            at::Tensor padded = troupe::ssl::hubert_features(enc, wav);
            at::Tensor manual = enc.forward(at::cat({waveform, at::zeros({troupe::ssl::kGptSovitsHubertPadSamples})})).last_hidden_state;
            BOOST_CHECK_EQUAL(padded.size(1), enc.config().num_frames(int64_t(wav.size()) + 9600));
            BOOST_CHECK_LE(max_abs_diff(padded, manual), 1e-6);
        }
    }
}

// Every other weight file in the fixture folder (e.g. legacy weight_g/weight_v names) must give the same outputs.
BOOST_FIXTURE_TEST_CASE(alternative_weight_files_match, Fixture) {
    const auto config = troupe::ssl::EncoderConfig::read(dir + "/model/config.json");
    const auto features = troupe::ssl::FeatureExtractorConfig::read_optional(dir + "/model/preprocessor_config.json");
    const auto ref = troupe::st::File::open(dir + "/cases.safetensors");
    int files = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string file = entry.path().filename().string();
        if (entry.path().extension() != ".safetensors" || file == "cases.safetensors") continue;
        BOOST_TEST_CONTEXT("weights " << file) {
            const Encoder enc = Encoder::from_weights(config, features, troupe::ssl::weights_from_file(entry.path().string()), load_options());
            for (const auto& input : cases["inputs"]) {
                const std::string name = input["name"];
                at::Tensor iv = tensor_ref(dir, input["input_tensors"]["input_values"]);
                BOOST_CHECK_GT(check_outputs(name, input["tensors"], enc.forward(iv, true), ref, 1e-4), 0);
            }
        }
        ++files;
    }
    BOOST_TEST_MESSAGE(files << " alternative weight file(s) checked");
}

BOOST_FIXTURE_TEST_CASE(bad_weights_are_clear_errors, Fixture) {
    const auto config = troupe::ssl::EncoderConfig::read(dir + "/model/config.json");
    auto file = troupe::st::File::open(dir + "/model/model.safetensors");
    auto all = std::make_shared<std::map<std::string, at::Tensor>>();
    for (const auto& n : file.names()) (*all)[n] = file.tensor(n);

    auto missing = std::make_shared<std::map<std::string, at::Tensor>>(*all);
    const std::string victim = "encoder.layer_norm.weight";
    missing->erase(victim);
    try {
        Encoder::from_weights(config, {}, troupe::ssl::weights_from_map(missing, "missing.safetensors"));
        BOOST_FAIL("missing tensor accepted");
    } catch (const troupe::Error& e) {
        BOOST_CHECK(e.code() == troupe::Errc::invalid_file);
        BOOST_CHECK_NE(std::string(e.what()).find(victim), std::string::npos);
        BOOST_CHECK_NE(std::string(e.what()).find("missing.safetensors"), std::string::npos);
    }

    auto wrong = std::make_shared<std::map<std::string, at::Tensor>>(*all);
    (*wrong)["feature_projection.projection.weight"] = at::zeros({3, 3});
    BOOST_CHECK_THROW(Encoder::from_weights(config, {}, troupe::ssl::weights_from_map(wrong, "wrong.safetensors")), troupe::Error);

    const Encoder enc = Encoder::from_weights(config, {}, troupe::ssl::weights_from_map(all, "ok"));
    BOOST_CHECK_THROW(enc.forward(at::zeros({config.min_samples() - 1})), troupe::Error);
    BOOST_CHECK_EQUAL(enc.forward(at::zeros({config.min_samples()})).last_hidden_state.size(1), 1);
    BOOST_CHECK_THROW(troupe::ssl::hubert_features(enc, std::vector<float>{}), troupe::Error);
}

// ---- pytorch_model.bin (torch.save zip, as chinese-hubert-base ships it) ----------------------------------------
namespace {

/// torch.save({name: tensor}) of float32 tensors, as a zip with archive/data.pkl and archive/data/<i>.
std::string torch_save(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
    troupe::test::PickleWriter p;
    p.op('}').op('(');
    std::vector<std::pair<std::string, std::string>> files;
    for (size_t i = 0; i < tensors.size(); ++i) {
        const at::Tensor t = tensors[i].second.to(at::kFloat).contiguous();
        p.str(tensors[i].first).global("torch._utils", "_rebuild_tensor_v2").op('(');
        p.op('(').str("storage").global("torch", "FloatStorage").str(std::to_string(i)).str("cpu").i4(t.numel()).op('t').op('Q');
        p.i4(0).op('(');
        for (int64_t s : t.sizes()) p.i4(s);
        p.op('t').op('(');
        for (int64_t s : t.strides()) p.i4(s);
        p.op('t').op('\x89').global("collections", "OrderedDict").op(')').op('R').op('t').op('R');
        files.emplace_back("archive/data/" + std::to_string(i),
                           std::string(static_cast<const char*>(t.data_ptr()), size_t(t.numel()) * 4));
    }
    p.op('u').op('.');
    files.insert(files.begin(), {"archive/data.pkl", p.b});
    return troupe::test::stored_zip(files);
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(reads_pytorch_model_bin_with_legacy_names, Fixture) {
    // Every weight file of the fixture, re-saved as pytorch_model.bin next to the fixture's config.
    for (const auto& entry : fs::directory_iterator(dir)) {
        const std::string file = entry.path().filename().string();
        if (entry.path().extension() != ".safetensors" || file == "cases.safetensors") continue;
        BOOST_TEST_CONTEXT("weights " << file) {
            const fs::path tmp = fs::temp_directory_path() / ("troupe_hubert_bin_" + std::to_string(::getpid()));
            fs::create_directories(tmp);
            fs::copy_file(dir + "/model/config.json", tmp / "config.json", fs::copy_options::overwrite_existing);
            const auto src = troupe::st::File::open(entry.path().string());
            std::vector<std::pair<std::string, at::Tensor>> tensors;
            for (const auto& n : src.names()) tensors.emplace_back(n, src.tensor(n));
            std::ofstream(tmp / "pytorch_model.bin", std::ios::binary) << torch_save(tensors);

            const Encoder enc = Encoder::load_dir(tmp.string());
            const auto ref = troupe::st::File::open(dir + "/cases.safetensors");
            for (const auto& input : cases["inputs"]) {
                at::Tensor iv = tensor_ref(dir, input["input_tensors"]["input_values"]);
                BOOST_CHECK_GT(check_outputs(input["name"], input["tensors"], enc.forward(iv, true), ref, 1e-4), 0);
            }
            // Not fs::remove_all: the pip wheel's libtorch.so exports a broken copy of it (crashes on the GPU build).
            for (const char* f : {"config.json", "pytorch_model.bin"}) std::remove((tmp / f).c_str());
            ::rmdir(tmp.c_str());
        }
    }
    // A folder without weights is a clear not_found error naming the folder.
    try {
        Encoder::load_dir(dir);  // the fixture root has no config.json/weights of its own
        BOOST_FAIL("expected an error");
    } catch (const troupe::Error& e) {
        BOOST_CHECK_NE(std::string(e.what()).find(dir), std::string::npos);
    }
}
