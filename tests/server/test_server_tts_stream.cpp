// troupe serve's /tts with streaming_mode on GPT-SoVITS (the conformance checkpoints, switched in
// with /set_gpt_weights and /set_sovits_weights): the audio arrives in several pieces while it is
// synthesised, as many samples as the non-streamed answer and within the streaming bound of it
// (SNR, as tests/gpt-sovits/test_s2_stream.cpp asserts), with a WAV header first for media_type=wav.
#define BOOST_TEST_MODULE server_tts_stream
#include "server_process.hpp"
#include "../common/conformance.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>

using troupe::test::body_json;
using troupe::test::ServerProcess;
namespace fs = boost::filesystem;

namespace {

std::string conformance_gsv() {
    return troupe::test::conformance_dir("gpt-sovits").string();
}

std::vector<double> samples_of(const std::string& pcm) {
    std::vector<double> out(pcm.size() / 2);
    for (size_t i = 0; i < out.size(); ++i) {
        int16_t v;
        std::memcpy(&v, pcm.data() + 2 * i, 2);
        out[i] = v / 32767.0;
    }
    return out;
}

struct Received {
    std::string body;
    int pieces = 0;
    double first_s = 0, total_s = 0;
};

Received get_streamed(httplib::Client& c, const std::string& path) {
    Received r;
    const auto t0 = std::chrono::steady_clock::now();
    auto res = c.Get(path.c_str(), [&](const char* data, size_t n) {
        if (r.pieces++ == 0) r.first_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        r.body.append(data, n);
        return true;
    });
    r.total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_REQUIRE_MESSAGE(res, "no response: " << httplib::to_string(res.error()));
    BOOST_TEST(res->status == 200);
    BOOST_TEST(res->get_header_value("Transfer-Encoding") == "chunked");
    return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(tts_streaming_mode_sends_chunks_as_they_are_made) {
    const std::string gsv = conformance_gsv();
    if (!fs::exists(gsv + "/models/s1.ckpt") || !fs::exists(gsv + "/models/s2.pth") || !fs::exists(gsv + "/s2/ref_a.wav")) {
        BOOST_TEST_MESSAGE("no GPT-SoVITS conformance checkpoints under " << gsv << "; skipped");
        return;
    }
    const fs::path dir = troupe::test::test_dir("server-tts-stream");
    const fs::path voices = dir / "voices";
    fs::create_directories(voices);
    for (const char* f : {"/models/s1.ckpt", "/models/s2.pth", "/s2/ref_a.wav"})
        fs::copy_file(gsv + f, voices / fs::path(f).filename(), fs::copy_options::overwrite_existing);
    ServerProcess server({"--data-dir", (dir / "data").string(), "--allow-dir", voices.string()}, dir);
    auto c = server.client();
    BOOST_REQUIRE(body_json(c.Get(("/set_gpt_weights?weights_path=" + (voices / "s1.ckpt").string()).c_str()))["message"] == "success");
    BOOST_REQUIRE(body_json(c.Get(("/set_sovits_weights?weights_path=" + (voices / "s2.pth").string()).c_str()))["message"] == "success");

    // Reference-free (no prompt_text), so no HuBERT is needed; "가나다라마바사아자차카타파하" in UTF-8.
    const std::string query = "/tts?text=%EA%B0%80%EB%82%98%EB%8B%A4%EB%9D%BC%EB%A7%88%EB%B0%94%EC%82%AC%EC%95%84%EC%9E%90"
                              "%EC%B0%A8%EC%B9%B4%ED%83%80%ED%8C%8C%ED%95%98&text_lang=ko&prompt_lang=ko&seed=3&ref_audio_path=" +
                              (voices / "ref_a.wav").string();
    auto whole = c.Get((query + "&media_type=raw").c_str());
    BOOST_REQUIRE(whole);
    BOOST_REQUIRE_MESSAGE(whole->status == 200, whole->body << server.log());
    const Received raw = get_streamed(c, query + "&media_type=raw&streaming_mode=true&min_chunk_length=4&overlap_length=1");
    const Received wav = get_streamed(c, query + "&media_type=wav&streaming_mode=true&min_chunk_length=4&overlap_length=1");
    std::cout << "/tts streaming: " << raw.pieces << " pieces, first after " << raw.first_s << " s of " << raw.total_s
              << " s\n";
    BOOST_TEST(raw.pieces > 1);
    BOOST_TEST(raw.first_s < raw.total_s);
    BOOST_REQUIRE_EQUAL(raw.body.size(), whole->body.size());
    BOOST_TEST(wav.body.substr(0, 4) == "RIFF");
    BOOST_TEST(wav.body.substr(44) == raw.body);  // the same pieces after a 44-byte header

    const std::vector<double> a = samples_of(raw.body), b = samples_of(whole->body);
    double signal = 0, noise = 0;
    for (size_t i = 0; i < a.size(); ++i) signal += b[i] * b[i], noise += (a[i] - b[i]) * (a[i] - b[i]);
    const double snr = 10 * std::log10(signal / std::max(noise, 1e-30));
    std::cout << "/tts streaming vs whole: SNR " << snr << " dB\n";
    BOOST_TEST(snr >= 8.0);
}
