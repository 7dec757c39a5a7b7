// `troupe tts synth` end to end on the GPT-SoVITS conformance checkpoints (models/s1.ckpt +
// models/s2.pth, the user formats): for every S1 case whose kept tokens and target phones are those
// of an S2 decode case, the CLI with the fixture's prompt codes and phone ids, greedy S1 and the
// case's noise scale and speed must reproduce the S1 tokens exactly and the S2 waveform within
// rel L2 1e-4 / max abs 1e-4.
#define BOOST_TEST_MODULE tts_synth_cli
#include <boost/test/unit_test.hpp>

#include "s2_fixture.hpp"

#include <troupe/torch/safetensors.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using s2test::compare;

namespace {

std::string run(const std::string& command, int& status) {
    std::string out;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (!pipe) throw std::runtime_error("popen failed");
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
    status = pclose(pipe);
    return out;
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::vector<int64_t> ints(const nlohmann::json& j) {
    if (j.is_string()) return nlohmann::json::parse(j.get<std::string>()).get<std::vector<int64_t>>();
    return j.get<std::vector<int64_t>>();
}

}  // namespace

BOOST_AUTO_TEST_CASE(synth_reproduces_fixture_end_to_end) {
    const std::string dir = s2test::gsv_dir();
    const nlohmann::json s1cases = s2test::read_json(dir + "/s1/cases.json");
    const nlohmann::json s2cases = s2test::read_json(dir + "/s2/cases.json");
    const fs::path tmp = fs::temp_directory_path() / ("troupe-tts-synth-" + std::to_string(::getpid()));
    fs::create_directories(tmp);

    // Cases are read with at()/contains(), never the unchecked const operator[]: a fixture set of the
    // documented layout may lack a field this test uses, and that is a skip (or a test error), not UB.
    int matched = 0;
    for (const auto& c1 : s1cases.at("cases")) {
        if (!c1.contains("prompt_codes") || c1["prompt_codes"].is_null() || c1.value("stop_reason", "") != "eos") continue;
        bool complete = true;
        for (const char* key : {"name", "phone_ids", "n_prompt_phones", "webui_kept_tokens", "decode_params"})
            complete = complete && c1.contains(key);
        if (!complete) {
            BOOST_TEST_MESSAGE("S1 case " << c1.value("name", "?") << " lacks a field this test needs; skipped");
            continue;
        }
        const std::vector<int64_t> phones = ints(c1.at("phone_ids"));
        const size_t n_prompt = c1.at("n_prompt_phones").get<size_t>();
        BOOST_REQUIRE(n_prompt <= phones.size());
        const std::vector<int64_t> prompt(phones.begin(), phones.begin() + long(n_prompt));
        const std::vector<int64_t> target(phones.begin() + long(n_prompt), phones.end());
        const std::vector<int64_t> kept = ints(c1.at("webui_kept_tokens"));
        for (const auto& c2 : s2cases.at("cases")) {
            if (!c2.contains("codes") || !c2.contains("text_ids") || !c2.contains("refer") || c2.at("refer").empty()) continue;
            if (ints(c2["codes"]) != kept || ints(c2["text_ids"]) != target) continue;
            const std::string name = c1.at("name").get<std::string>() + "->" + c2.at("name").get<std::string>();
            BOOST_TEST_CONTEXT(name) {
                ++matched;
                const fs::path codes_file = tmp / "codes.txt", ids_file = tmp / "ids.json";
                {
                    std::ofstream(codes_file) << nlohmann::json(ints(c1["prompt_codes"])).dump();
                    std::ofstream(ids_file) << nlohmann::json{{"prompt", prompt}, {"target", target}}.dump();
                }
                // refer names "spec_<r>" → ref_<r>.wav; the first is the main reference.
                std::vector<std::string> refs;
                for (const auto& r : c2.at("refer")) refs.push_back(r.get<std::string>().substr(5));
                const nlohmann::json& p = c1.at("decode_params");
                std::string cmd = std::string(TROUPE_CLI) + " --json tts synth --s1 " + quote(dir + "/models/s1.ckpt") +
                                  " --s2 " + quote(dir + "/models/s2.pth") + " --ref " + quote(dir + "/s2/ref_" + refs[0] + ".wav");
                for (size_t i = 1; i < refs.size(); ++i) cmd += " --extra-ref " + quote(dir + "/s2/ref_" + refs[i] + ".wav");
                cmd += " --prompt-codes " + quote(codes_file.string()) + " --phone-ids " + quote(ids_file.string());
                cmd += " --top-k " + std::to_string(p.at("top_k").get<int64_t>());
                cmd += " --top-p " + std::to_string(p.at("top_p").get<double>());
                cmd += " --temperature " + std::to_string(p.at("temperature").get<double>());
                cmd += " --repetition-penalty " + std::to_string(p.at("repetition_penalty").get<double>());
                cmd += " --noise-scale " + std::to_string(c2.at("noise_scale").get<double>());
                cmd += " --speed " + std::to_string(c2.at("speed").get<double>());
                const fs::path wav = tmp / "out.wav", dump = tmp / "out.safetensors";
                cmd += " -o " + quote(wav.string()) + " --dump " + quote(dump.string());
                int status = 0;
                const std::string out = run(cmd, status);
                std::cout << out;
                BOOST_REQUIRE_MESSAGE(status == 0, "troupe tts synth failed: " + out);

                const auto d = troupe::st::File::open(dump.string());
                const at::Tensor tokens = d.tensor("tokens_0").flatten();
                BOOST_TEST(at::equal(tokens, s2test::ids_tensor(nlohmann::json(kept))));
                const auto fx = troupe::st::File::open(dir + "/s2/decode_" + c2.at("name").get<std::string>() + ".safetensors");
                const at::Tensor want = fx.tensor("audio").flatten();
                const at::Tensor got = d.tensor("audio_0").flatten();
                BOOST_REQUIRE_EQUAL(got.numel(), want.numel());
                auto diff = compare(got, want);
                std::cout << name << " audio: max abs " << diff.max_abs << ", rel L2 " << diff.rel_l2 << "\n";
                BOOST_TEST(diff.rel_l2 <= 1e-4);
                BOOST_TEST(diff.max_abs <= 1e-4);

                // The WAV: the segment, then 0.3 s of silence, as 16-bit PCM.
                int rate = 0;
                const at::Tensor pcm = s2test::read_wav_samples(wav.string(), &rate);
                BOOST_TEST(rate == s2test::s2_audio_facts().sample_rate);
                BOOST_REQUIRE(pcm.numel() >= want.numel());
                auto dw = compare(pcm.slice(0, 0, want.numel()), want);
                BOOST_TEST(dw.max_abs <= 2.0 / 32767);
                BOOST_TEST(pcm.slice(0, want.numel()).abs().max().item<double>() == 0.0);
            }
        }
    }
    BOOST_TEST(matched > 0, "no S1 case feeds an S2 decode case");
    fs::remove_all(tmp);
}

BOOST_AUTO_TEST_CASE(synth_reports_bad_input) {
    const std::string dir = s2test::gsv_dir();
    const fs::path tmp = fs::temp_directory_path() / ("troupe-tts-synth-bad-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    const std::string base = std::string(TROUPE_CLI) + " tts synth --s1 " + quote(dir + "/models/s1.ckpt") + " --s2 " +
                             quote(dir + "/models/s2.pth") + " --ref " + quote(dir + "/s2/ref_a.wav") + " -o " +
                             quote((tmp / "x.wav").string());
    const fs::path bad_ids = tmp / "ids.txt", codes = tmp / "codes.txt";
    std::ofstream(bad_ids) << "1 2 three\n4 5\n";
    std::ofstream(codes) << "[1, 2, 3]";
    int status = 0;
    std::string out = run(base + " --prompt-codes " + quote(codes.string()) + " --phone-ids " + quote(bad_ids.string()), status);
    BOOST_TEST(WEXITSTATUS(status) == 3, out);  // invalid input file
    BOOST_TEST(out.find(bad_ids.string()) != std::string::npos, out);

    // Speed and pause have ranges (the frame count is F / speed, the pause rate × seconds): exit 2.
    const fs::path good_ids = tmp / "good.json";
    std::ofstream(good_ids) << R"({"prompt": [1, 2], "target": [3, 4, 5]})";
    for (const std::string& option : {std::string("--speed 0.001"), std::string("--speed 100"), std::string("--pause 100000"),
                                      std::string("--noise-scale 50")}) {
        out = run(base + " --prompt-codes " + quote(codes.string()) + " --phone-ids " + quote(good_ids.string()) + " " + option,
                  status);
        BOOST_TEST(WEXITSTATUS(status) == 2, option << ": " << out);
        BOOST_TEST(out.find("must be between") != std::string::npos, option << ": " << out);
    }

    out = run(base + " --prompt-codes " + quote((tmp / "missing.txt").string()) + " --text 안녕하세요 --ref-text 네", status);
    BOOST_TEST(WEXITSTATUS(status) == 4, out);  // not found

    // A HuBERT whose width is not the S2 model's SSL width is refused by name (the HuBERT fixture is tiny).
    out = run(base + " --hubert " + quote(s2test::conformance_root() + "/hubert/model") +
                  " --ref-text 안녕하세요 --text 반갑습니다",
              status);
    BOOST_TEST(status != 0, out);
    BOOST_TEST(out.find("HuBERT width") != std::string::npos, out);
    fs::remove_all(tmp);
}

namespace {
std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}
uint32_t le32(const std::string& b, size_t at) {
    return uint32_t(uint8_t(b[at])) | uint32_t(uint8_t(b[at + 1])) << 8 | uint32_t(uint8_t(b[at + 2])) << 16 |
           uint32_t(uint8_t(b[at + 3])) << 24;
}
at::Tensor pcm_of(const std::string& wav) {  // the 16-bit samples after a 44-byte header
    std::vector<int16_t> v((wav.size() - 44) / 2);
    std::memcpy(v.data(), wav.data() + 44, v.size() * 2);
    return at::tensor(at::ArrayRef<int16_t>(v)).to(at::kFloat) / 32767.0;
}
}  // namespace

// --stream: the same tokens as without it, a WAV file whose header is fixed at the end, the same
// bytes on stdout (`-o -`, header sizes "unknown"), raw PCM with --raw, and audio within the
// streaming bound of the one-shot audio (SNR, as tests/gpt-sovits/test_s2_stream.cpp asserts).
BOOST_AUTO_TEST_CASE(synth_stream_file_and_stdout) {
    const std::string dir = s2test::gsv_dir();
    const nlohmann::json s1cases = s2test::read_json(dir + "/s1/cases.json");
    const nlohmann::json* c1 = nullptr;
    for (const auto& c : s1cases.at("cases"))
        if (c.contains("prompt_codes") && !c.at("prompt_codes").is_null() && c.contains("phone_ids") &&
            c.contains("n_prompt_phones") && !c1)
            c1 = &c;
    if (!c1) {
        BOOST_TEST_MESSAGE("no prompted S1 case with phone ids; skipped");
        return;
    }
    const fs::path tmp = fs::temp_directory_path() / ("troupe-tts-stream-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    const std::vector<int64_t> phones = ints(c1->at("phone_ids"));
    const size_t n_prompt = c1->at("n_prompt_phones").get<size_t>();
    BOOST_REQUIRE(n_prompt <= phones.size());
    const std::vector<int64_t> prompt(phones.begin(), phones.begin() + long(n_prompt));
    const std::vector<int64_t> target(phones.begin() + long(n_prompt), phones.end());
    std::ofstream(tmp / "codes.txt") << nlohmann::json(ints(c1->at("prompt_codes"))).dump();
    std::ofstream(tmp / "ids.json") << nlohmann::json{{"prompt", prompt}, {"target", target}}.dump();
    const std::string base = std::string(TROUPE_CLI) + " --json tts synth --s1 " + quote(dir + "/models/s1.ckpt") +
                             " --s2 " + quote(dir + "/models/s2.pth") + " --ref " + quote(dir + "/s2/ref_a.wav") +
                             " --prompt-codes " + quote((tmp / "codes.txt").string()) + " --phone-ids " +
                             quote((tmp / "ids.json").string()) + " --seed 3 --pause 0.1";
    const std::string stream = " --stream --chunk-tokens 4 --lookahead-tokens 2 --crossfade-tokens 1";
    int status = 0;
    auto json_of = [](const std::string& out) {
        const auto at = out.rfind("\n{\"");
        return nlohmann::json::parse(out.substr(at == std::string::npos ? 0 : at + 1));
    };
    const std::string one = run(base + " -o " + quote((tmp / "one.wav").string()), status);
    BOOST_REQUIRE_MESSAGE(status == 0, one);
    const std::string streamed = run(base + stream + " -o " + quote((tmp / "stream.wav").string()), status);
    BOOST_REQUIRE_MESSAGE(status == 0, streamed);
    const std::string piped = run("( " + base + stream + " -o - > " + quote((tmp / "pipe.wav").string()) + " )", status);
    BOOST_REQUIRE_MESSAGE(status == 0, piped);
    const std::string raw = run("( " + base + stream + " --raw -o - > " + quote((tmp / "pipe.pcm").string()) + " )", status);
    BOOST_REQUIRE_MESSAGE(status == 0, raw);

    const nlohmann::json j1 = json_of(one), js = json_of(streamed), jp = json_of(piped);
    BOOST_TEST(js.at("segments").at(0).at("tokens") == j1.at("segments").at(0).at("tokens"));
    BOOST_TEST(js.at("stream").get<bool>());
    BOOST_TEST(js.at("first_audio_s").get<double>() > 0.0);
    BOOST_TEST(js.at("first_audio_s").get<double>() <= js.at("synth_s").get<double>());
    BOOST_TEST(jp.at("samples") == js.at("samples"));

    const std::string f1 = read_bytes(tmp / "one.wav"), fs_ = read_bytes(tmp / "stream.wav"),
                      fp = read_bytes(tmp / "pipe.wav"), fr = read_bytes(tmp / "pipe.pcm");
    BOOST_REQUIRE(fs_.size() > 44);
    BOOST_REQUIRE(fp.size() > 44);
    BOOST_TEST(fs_.substr(0, 4) == "RIFF");
    BOOST_TEST(le32(fs_, 4) == fs_.size() - 8);  // sizes fixed at the end
    BOOST_TEST(le32(fs_, 40) == fs_.size() - 44);
    BOOST_TEST(le32(fp, 4) == 0xFFFFFFFFu);  // stdout: "unknown length"
    BOOST_TEST(le32(fp, 40) == 0xFFFFFFFFu);
    BOOST_TEST(fp.substr(44) == fs_.substr(44));
    BOOST_TEST(fr == fs_.substr(44));
    int rate = 0;
    const at::Tensor read_back = s2test::read_wav_samples((tmp / "stream.wav").string(), &rate);  // libsndfile reads it
    BOOST_TEST(rate == s2test::s2_audio_facts().sample_rate);
    BOOST_TEST(read_back.numel() == js.at("samples").get<int64_t>());

    const at::Tensor a = pcm_of(fs_), b = s2test::read_wav_samples((tmp / "one.wav").string());
    BOOST_REQUIRE_EQUAL(a.numel(), b.numel());
    const double noise = (a - b).to(at::kDouble).pow(2).sum().item<double>();
    const double snr = 10 * std::log10(b.to(at::kDouble).pow(2).sum().item<double>() / std::max(noise, 1e-30));
    std::cout << "tts synth --stream: SNR " << snr << " dB against the one-shot WAV, first audio after "
              << js.at("first_audio_s") << " s\n";
    BOOST_TEST(snr >= 8.0);
    fs::remove_all(tmp);
}

// --s1-batch (EngineOptions::s1_batch): a Korean text of three sentences (three segments of
// different lengths) decoded in one S1 batch gives the tokens and the WAV of the unbatched run,
// greedy and sampled (every segment keeps its own seeded noise).
BOOST_AUTO_TEST_CASE(synth_s1_batch_equals_unbatched) {
    const std::string dir = s2test::gsv_dir();
    const nlohmann::json s1cases = s2test::read_json(dir + "/s1/cases.json");
    std::vector<int64_t> codes;
    for (const auto& c : s1cases.at("cases"))
        if (codes.empty() && c.contains("prompt_codes") && !c.at("prompt_codes").is_null()) codes = ints(c.at("prompt_codes"));
    if (codes.empty()) {
        BOOST_TEST_MESSAGE("no prompted S1 case; skipped");
        return;
    }
    const fs::path tmp = fs::temp_directory_path() / ("troupe-tts-batch-" + std::to_string(::getpid()));
    fs::create_directories(tmp);
    std::ofstream(tmp / "codes.txt") << nlohmann::json(codes).dump();
    const std::string base = std::string(TROUPE_CLI) + " --json tts synth --s1 " + quote(dir + "/models/s1.ckpt") +
                             " --s2 " + quote(dir + "/models/s2.pth") + " --ref " + quote(dir + "/s2/ref_a.wav") +
                             " --prompt-codes " + quote((tmp / "codes.txt").string()) +
                             " --ref-text '안녕하세요. 반갑습니다.'" +
                             " --text '오늘은 날씨가 좋네요. 내일은 비가 온다고 합니다. 우산을 꼭 챙기세요.'";
    auto json_of = [](const std::string& out) {
        const auto at = out.rfind("\n{\"");
        return nlohmann::json::parse(out.substr(at == std::string::npos ? 0 : at + 1));
    };
    for (const std::string sampling : {" --top-k 1", " --seed 3"}) {
        BOOST_TEST_CONTEXT(sampling) {
            int status = 0;
            const std::string one = run(base + sampling + " -o " + quote((tmp / "one.wav").string()), status);
            BOOST_REQUIRE_MESSAGE(status == 0, one);
            const std::string batch = run(base + sampling + " --s1-batch -o " + quote((tmp / "batch.wav").string()), status);
            BOOST_REQUIRE_MESSAGE(status == 0, batch);
            const nlohmann::json j1 = json_of(one), jb = json_of(batch);
            const auto& s1 = j1.at("segments");
            const auto& sb = jb.at("segments");
            BOOST_REQUIRE(s1.size() >= 2u);
            BOOST_REQUIRE(sb.size() == s1.size());
            BOOST_TEST(s1.at(0).at("phones") != s1.at(1).at("phones"));  // rows of different lengths
            for (size_t i = 0; i < s1.size(); ++i) {
                BOOST_TEST(sb.at(i).at("tokens") == s1.at(i).at("tokens"), "segment " << i);
                BOOST_TEST(sb.at(i).at("stop") == s1.at(i).at("stop"), "segment " << i);
                BOOST_TEST(!s1.at(i).at("tokens").empty());
            }
            const std::string w1 = read_bytes(tmp / "one.wav"), wb = read_bytes(tmp / "batch.wav");
            BOOST_TEST(w1.size() > 44u);
            BOOST_TEST((w1 == wb), "the WAVs differ");
        }
    }
    fs::remove_all(tmp);
}
