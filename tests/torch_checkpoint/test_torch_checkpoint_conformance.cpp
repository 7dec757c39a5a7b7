// The upstream GPT-SoVITS checkpoints (models/*.ckpt, *.pth) read through the restricted unpickler
// must equal their safetensors copies exactly, configs included; a version-tagged copy too. The
// safetensors and *_config.json twins are optional (the fixture's README): a checkpoint without
// them is still read, tag-checked and truncated; only the comparison is skipped, with a message.
#define BOOST_TEST_MODULE torch_checkpoint_conformance
#include "../common/conformance.hpp"

#include <boost/test/unit_test.hpp>

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>
#include <troupe/torch/torch_checkpoint.hpp>

#include <ATen/Functions.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;
namespace pt = troupe::pt;

namespace {

fs::path fixture_root() {
    return troupe::test::conformance_dir("gpt-sovits");
}

// Every pickled checkpoint in models/ (discovered, not listed).
std::vector<fs::path> checkpoints() {
    std::vector<fs::path> out;
    const fs::path dir = fixture_root() / "models";
    if (!fs::is_directory(dir)) return out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const auto ext = e.path().extension().string();
        if (ext == ".ckpt" || ext == ".pth" || ext == ".pt")
            out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

void compare_weights(const std::map<std::string, at::Tensor>& got, const troupe::st::File& want, const std::string& what) {
    auto names = want.names();
    BOOST_TEST(got.size() == names.size(), what << ": tensor count");
    for (const auto& n : names) {
        auto it = got.find(n);
        BOOST_TEST_CONTEXT(what << ": " << n) {
            BOOST_REQUIRE(it != got.end());
            const auto w = want.tensor(n);
            BOOST_TEST(it->second.sizes().vec() == w.sizes().vec());
            // The safetensors copy may be widened (F32 of the fp16 values): compare in float64.
            BOOST_TEST(it->second.to(at::kDouble).equal(w.to(at::kDouble)));
        }
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(fixture_present) {
    BOOST_TEST_MESSAGE("fixture root: " << fixture_root());
    BOOST_TEST(!checkpoints().empty());
}

BOOST_AUTO_TEST_CASE(checkpoints_match_safetensors_and_configs) {
    for (const auto& path : checkpoints()) {
        BOOST_TEST_CONTEXT(path.filename().string()) {
            const auto ck = pt::Checkpoint::open(path.string());
            BOOST_TEST(ck.version_tag() == "");
            BOOST_TEST(!ck.prefix().empty());
            BOOST_TEST(ck.root().at("info").is_string());
            BOOST_TEST(!ck.state_dict("weight").empty());
            const fs::path twin = fs::path(path).replace_extension(".safetensors");
            if (fs::exists(twin))
                compare_weights(ck.state_dict("weight"), troupe::st::File::open(twin.string()), path.filename().string());
            else
                BOOST_TEST_MESSAGE("skipped the weight comparison: " << twin << " is absent (optional)");

            const fs::path cfg = path.parent_path() / (path.stem().string() + "_config.json");
            if (fs::exists(cfg)) {
                std::ifstream f(cfg);
                const auto want = nlohmann::json::parse(f);
                const auto got = pt::to_json(ck.root().at("config"));
                BOOST_TEST((got == want), "config of " << path.filename() << " differs:\n" << got.dump(1));
            } else {
                BOOST_TEST_MESSAGE("skipped the config comparison: " << cfg << " is absent (optional)");
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(version_tagged_copy_reads_the_same) {
    for (const auto& path : checkpoints()) {
        std::ifstream f(path, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        BOOST_REQUIRE(bytes.size() > 2);
        bytes[0] = '0';
        bytes[1] = '5';  // v2Pro tag, as process_ckpt.my_save2 writes it
        const auto tagged = pt::Checkpoint::from_bytes(bytes.data(), bytes.size(), path.string() + " (tagged)");
        BOOST_TEST(tagged.version_tag() == "05");
        const auto plain = pt::Checkpoint::open(path.string());
        const auto a = tagged.state_dict(), b = plain.state_dict();
        BOOST_TEST(a.size() == b.size());
        for (const auto& [k, t] : b) BOOST_TEST(a.at(k).equal(t), k);
    }
}

BOOST_AUTO_TEST_CASE(truncated_checkpoints_are_errors) {
    for (const auto& path : checkpoints()) {
        std::ifstream f(path, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        for (size_t cut : {bytes.size() / 3, bytes.size() - 30}) {
            BOOST_CHECK_THROW(pt::Checkpoint::from_bytes(bytes.data(), cut, "truncated"), troupe::Error);
        }
    }
}
