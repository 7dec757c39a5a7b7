// Unit tests of troupe::ssl::resample (windowed-sinc, torchaudio's kernel and length conventions).
#define BOOST_TEST_MODULE ssl_resample
#include <boost/test/unit_test.hpp>

#include <troupe/ssl/model_input.hpp>
#include <troupe/ssl/resample.hpp>
#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

using troupe::ssl::resample;
using troupe::ssl::resampled_length;

namespace {
const double kPi = 3.14159265358979323846;
std::vector<float> sine(double freq, int rate, int n, double amp = 0.5) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) v[size_t(i)] = float(amp * std::sin(2 * kPi * freq * i / rate));
    return v;
}
double rms(const std::vector<float>& v, size_t from, size_t to) {
    double acc = 0;
    for (size_t i = from; i < to; ++i) acc += double(v[i]) * v[i];
    return std::sqrt(acc / double(to - from));
}
}  // namespace

BOOST_AUTO_TEST_CASE(lengths_follow_ceil_rule) {
    BOOST_CHECK_EQUAL(resampled_length(44100, 44100, 16000), 16000);
    BOOST_CHECK_EQUAL(resampled_length(44101, 44100, 16000), 16001);  // ceil(44101 * 160 / 441)
    BOOST_CHECK_EQUAL(resampled_length(1, 48000, 16000), 1);
    BOOST_CHECK_EQUAL(resampled_length(0, 48000, 16000), 0);
    BOOST_CHECK_EQUAL(resampled_length(16000, 16000, 32000), 32000);
    BOOST_CHECK_EQUAL(resample(sine(100, 22050, 1234), 22050, 16000).size(), size_t(resampled_length(1234, 22050, 16000)));
    BOOST_CHECK_THROW(resampled_length(10, 0, 16000), troupe::Error);
    BOOST_CHECK_THROW(resample({1.f}, 16000, -1), troupe::Error);
}

BOOST_AUTO_TEST_CASE(equal_rates_are_identity) {
    const auto x = sine(440, 16000, 1000);
    BOOST_CHECK(resample(x, 16000, 16000) == x);
}

// A tone well below both Nyquist frequencies comes out as the same tone at the new rate.
BOOST_AUTO_TEST_CASE(in_band_tone_is_preserved) {
    struct Case { int from, to; double freq; };
    for (const Case c : {Case{44100, 16000, 1000.0}, Case{48000, 16000, 3000.0}, Case{16000, 32000, 2500.0},
                         Case{22050, 16000, 440.0}, Case{32000, 16000, 4000.0}}) {
        BOOST_TEST_CONTEXT(c.from << " -> " << c.to << " Hz, tone " << c.freq) {
            const auto y = resample(sine(c.freq, c.from, c.from), c.from, c.to);
            const auto expected = sine(c.freq, c.to, c.to);
            BOOST_REQUIRE_EQUAL(y.size(), expected.size());
            double worst = 0;
            for (size_t i = size_t(c.to / 20); i < y.size() - size_t(c.to / 20); ++i)  // away from the edges
                worst = std::max(worst, std::abs(double(y[i]) - expected[i]));
            BOOST_TEST_MESSAGE("max error " << worst);
            BOOST_CHECK_LT(worst, 2e-3);
        }
    }
}

// A tone above the new Nyquist frequency is removed rather than aliased.
BOOST_AUTO_TEST_CASE(out_of_band_tone_is_suppressed) {
    const auto y = resample(sine(10000.0, 48000, 48000), 48000, 16000);
    const double level = rms(y, 800, y.size() - 800);
    BOOST_TEST_MESSAGE("rms of a 10 kHz tone after 48k -> 16k: " << level);
    BOOST_CHECK_LT(level, 0.5 / std::sqrt(2.0) * 0.01);  // at least 40 dB below the input
}

BOOST_AUTO_TEST_CASE(dc_gain_is_one) {
    const std::vector<float> ones(8000, 1.0f);
    const auto y = resample(ones, 8000, 16000);
    for (size_t i = 200; i < y.size() - 200; ++i) BOOST_REQUIRE_SMALL(double(y[i]) - 1.0, 2e-3);
}

// Against torchaudio.functional.resample (defaults) on the cases in tests/ssl/data/torchaudio_resample.*
// (made by tests/ssl/tools/make_ssl_fixtures.py): same length, same samples up to float rounding.
BOOST_AUTO_TEST_CASE(matches_torchaudio) {
    const std::string base = std::string(TROUPE_SOURCE_DIR) + "/tests/ssl/data/torchaudio_resample";
    std::ifstream in(base + ".json");
    BOOST_REQUIRE_MESSAGE(in, "missing " << base << ".json");
    const nlohmann::json meta = nlohmann::json::parse(in);
    const auto file = troupe::st::File::open(base + ".safetensors");
    BOOST_REQUIRE(!meta["cases"].empty());
    for (const auto& c : meta["cases"]) {
        const std::string name = c["name"];
        BOOST_TEST_CONTEXT(name << ": " << c["from_rate"] << " -> " << c["to_rate"]) {
            at::Tensor x = file.tensor(name + ".input").contiguous(), expected = file.tensor(name + ".output").contiguous();
            std::vector<float> input(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
            const auto y = resample(input, c["from_rate"].get<int>(), c["to_rate"].get<int>());
            BOOST_REQUIRE_EQUAL(int64_t(y.size()), expected.numel());
            double worst = 0;
            for (size_t i = 0; i < y.size(); ++i) worst = std::max(worst, std::abs(double(y[i]) - expected.data_ptr<float>()[i]));
            BOOST_TEST_MESSAGE(name << " max abs diff vs torchaudio " << worst);
            BOOST_CHECK_LE(worst, 1e-6);
        }
    }
}

BOOST_AUTO_TEST_CASE(model_input_checks_and_resamples_for_the_named_plugin) {
    using troupe::ssl::model_input;
    auto message = [](const troupe::Audio& a, int64_t min_samples) -> std::string {
        try {
            model_input(a, 16000, "scorer-x", min_samples);
        } catch (const troupe::Error& e) {
            return e.what();
        }
        return "";
    };
    troupe::Audio a;
    a.sample_rate = 0;
    a.samples = {0.1f};
    BOOST_TEST(message(a, 0).find("scorer-x: audio has no sample rate") != std::string::npos, message(a, 0));
    a.sample_rate = 8000;
    a.samples.clear();
    BOOST_TEST(message(a, 0).find("scorer-x: audio is empty") != std::string::npos, message(a, 0));
    a.samples = {0.1f, std::nanf("")};
    BOOST_TEST(message(a, 0).find("scorer-x: audio contains NaN or infinity") != std::string::npos, message(a, 0));
    a.samples = sine(440, 8000, 800);  // 0.1 s: 1600 samples at 16 kHz
    BOOST_TEST(message(a, 1601).find("scorer-x: audio too short (0.100 s)") != std::string::npos, message(a, 1601));
    const std::vector<float> out = model_input(a, 16000, "scorer-x", 1600);
    BOOST_TEST(out == resample(a.samples, 8000, 16000));
}
