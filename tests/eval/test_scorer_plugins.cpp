// The weight-free scorer plugins, loaded through the host like any plugin.
#define BOOST_TEST_MODULE eval scorer plugins
#include <boost/test/unit_test.hpp>

#include <troupe/eval/speaker.hpp>
#include <troupe/host.hpp>

#include <cmath>

using namespace troupe;

namespace {
constexpr double kPi = 3.14159265358979323846;

// A crude voiced "speaker": harmonics of f0 shaped by two formant resonances, with vibrato and
// syllable-rate amplitude modulation, 1.5 s at 22.05 kHz.
Audio voice(double f0, double formant1, double formant2, uint32_t seed) {
    Audio a;
    a.sample_rate = 22050;
    const size_t n = size_t(1.5 * a.sample_rate);
    a.samples.resize(n);
    double phase = 0;
    uint32_t s = seed;
    for (size_t i = 0; i < n; ++i) {
        double t = double(i) / a.sample_rate;
        double f = f0 * (1 + 0.03 * std::sin(2 * kPi * (4.0 + seed % 3) * t));
        phase += 2 * kPi * f / a.sample_rate;
        double v = 0;
        for (int h = 1; h * f0 < 7000; ++h) {
            double hf = h * f0;
            double gain = 1.0 / (1 + std::pow((hf - formant1) / 150, 2)) + 0.6 / (1 + std::pow((hf - formant2) / 250, 2)) + 0.02;
            v += gain * std::sin(h * phase);
        }
        s = s * 1664525u + 1013904223u;
        double noise = (double(s >> 8) / 16777216.0 - 0.5) * 0.01;
        double envelope = 0.5 + 0.5 * std::sin(2 * kPi * 3 * t);
        a.samples[i] = float(0.1 * envelope * v + noise);
    }
    return a;
}

HostOptions options() {
    HostOptions o;
    o.plugin_paths = {std::string(TROUPE_BINARY_DIR) + "/plugins"};
    o.log_level = LogLevel::warn;
    return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(speaker_mfcc_separates_two_synthetic_voices) {
    Host host(options());
    auto encoder = host.create_as<SpeakerEncoder>("speaker-mfcc", PluginKind::speaker_encoder);
    BOOST_TEST(encoder->describe().find("PROXY") != std::string::npos);
    std::vector<float> a1, a2, b1, b2;
    BOOST_TEST(encoder->embed(voice(110, 500, 1500, 1), a1).ok());
    BOOST_TEST(encoder->embed(voice(112, 520, 1450, 2), a2).ok());
    BOOST_TEST(encoder->embed(voice(240, 850, 2600, 3), b1).ok());
    BOOST_TEST(encoder->embed(voice(235, 820, 2650, 4), b2).ok());
    BOOST_TEST(a1.size() == 192u);
    double same_a = eval::cosine(a1, a2), same_b = eval::cosine(b1, b2), cross = eval::cosine(a1, b1);
    BOOST_TEST_MESSAGE("same " << same_a << " " << same_b << " cross " << cross);
    BOOST_TEST(same_a > cross);
    BOOST_TEST(same_b > cross);
    // deterministic: the same audio gives the same embedding
    std::vector<float> again;
    BOOST_TEST(encoder->embed(voice(110, 500, 1500, 1), again).ok());
    BOOST_TEST(again == a1, boost::test_tools::per_element());
    // bad input is a Status, never a crash
    std::vector<float> none;
    Status s = encoder->embed(Audio{}, none);
    BOOST_TEST(!s.ok());
    BOOST_TEST(s.message().find("empty") != std::string::npos);
    Audio silent;
    silent.sample_rate = 16000;
    silent.samples.assign(16000, 0.f);
    BOOST_TEST(!encoder->embed(silent, none).ok());
    // a bad parameter fails at create with the parameter's name
    try {
        host.create("speaker-mfcc", {{"projection.dim", "abc"}});
        BOOST_FAIL("expected an error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("projection.dim") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(signal_quality_flags_failures_and_is_not_a_mos) {
    Host host(options());
    auto q = host.create_as<QualityEstimator>("signal-quality", PluginKind::quality_estimator);
    BOOST_TEST(q->describe().find("not a MOS") != std::string::npos);
    QualityEstimate clean;
    Audio v = voice(150, 600, 1800, 7);
    // fade out the last 50 ms so the end is not abrupt
    for (size_t i = 0; i < 1102; ++i) v.samples[v.samples.size() - 1 - i] *= float(i) / 1102;
    BOOST_TEST(q->estimate(v, clean).ok());
    BOOST_TEST(clean.score == 1.0);
    BOOST_TEST(clean.method.find("not MOS") != std::string::npos);
    Audio clipped = v;
    for (auto& x : clipped.samples) x = std::clamp(x * 50.f, -1.f, 1.f);
    QualityEstimate bad;
    BOOST_TEST(q->estimate(clipped, bad).ok());
    BOOST_TEST(bad.score == 0.0);
    BOOST_TEST(bad.details.count("flag.clipping") == 1u);
    // white noise is "noise_like"
    Audio noise;
    noise.sample_rate = 16000;
    uint32_t s = 1;
    for (int i = 0; i < 16000; ++i) {
        s = s * 1664525u + 1013904223u;
        noise.samples.push_back(float((double(s >> 8) / 16777216.0 - 0.5) * 0.5));
    }
    for (int i = 0; i < 800; ++i) noise.samples[size_t(15999 - i)] *= float(i) / 800;
    QualityEstimate n;
    BOOST_TEST(q->estimate(noise, n).ok());
    BOOST_TEST(n.details.count("flag.noise_like") == 1u);
    QualityEstimate empty;
    BOOST_TEST(q->estimate(Audio{}, empty).ok());
    BOOST_TEST(empty.score == 0.0);
}
