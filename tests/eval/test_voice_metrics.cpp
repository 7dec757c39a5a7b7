#define BOOST_TEST_MODULE eval voice metrics
#include <boost/test/unit_test.hpp>

#include <troupe/eval/dsp.hpp>
#include <troupe/eval/error_rate.hpp>
#include <troupe/eval/korean_text.hpp>
#include <troupe/eval/signal_checks.hpp>
#include <troupe/eval/speaker.hpp>
#include <troupe/status.hpp>

#include <cmath>
#include <complex>
#include <cstdio>
#include <fstream>
#include <limits>

using namespace troupe;
using namespace troupe::eval;

namespace {
constexpr double kPi = 3.14159265358979323846;
// A "voice": an amplitude-modulated tone with silence around it.
Audio tone(double lead_s, double speech_s, double tail_s, double amplitude = 0.5, int sr = 16000) {
    Audio a;
    a.sample_rate = sr;
    size_t lead = size_t(lead_s * sr), speech = size_t(speech_s * sr), tail = size_t(tail_s * sr);
    a.samples.assign(lead, 0.f);
    for (size_t i = 0; i < speech; ++i) {
        double fade = std::min({1.0, double(i) / (0.05 * sr), double(speech - i) / (0.05 * sr)});
        a.samples.push_back(float(amplitude * fade * std::sin(2 * kPi * 220 * double(i) / sr)));
    }
    a.samples.insert(a.samples.end(), tail, 0.f);
    return a;
}
}  // namespace

BOOST_AUTO_TEST_CASE(clean_signal_has_no_flags) {
    auto r = check_signal(tone(0.2, 2.0, 0.3));
    BOOST_TEST(r.flags.empty(), "flags: " << (r.flags.empty() ? "" : r.flags.front()));
    BOOST_TEST(std::fabs(r.leading_silence_s - 0.2) < 0.03);
    BOOST_TEST(std::fabs(r.trailing_silence_s - 0.3) < 0.03);
    BOOST_TEST(r.duration_s == 2.5, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(signal_failures_are_flagged) {
    BOOST_TEST(check_signal(Audio{}).has("empty"));
    BOOST_TEST(check_signal(tone(1.5, 1.0, 0.1)).has("leading_silence"));
    BOOST_TEST(check_signal(tone(0.1, 1.0, 1.6)).has("trailing_silence"));
    // internal pause of 2 s
    Audio pause = tone(0.1, 1.0, 2.0);
    Audio second = tone(0, 1.0, 0.1);
    pause.samples.insert(pause.samples.end(), second.samples.begin(), second.samples.end());
    auto p = check_signal(pause);
    BOOST_TEST(p.has("long_pause"));
    BOOST_TEST(p.longest_pause_s == 2.0, boost::test_tools::tolerance(0.1));
    // clipping: a square wave at full scale
    Audio clip = tone(0.1, 1.0, 0.1);
    for (size_t i = 3000; i < 3100; ++i) clip.samples[i] = 1.0f;
    BOOST_TEST(check_signal(clip).has("clipping"));
    // NaN
    Audio nan = tone(0.1, 1.0, 0.1);
    nan.samples[500] = std::numeric_limits<float>::quiet_NaN();
    BOOST_TEST(check_signal(nan).has("non_finite"));
    // DC offset
    Audio dc = tone(0.1, 1.0, 0.1, 0.3);
    for (auto& v : dc.samples) v += 0.2f;
    BOOST_TEST(check_signal(dc).has("dc_offset"));
    // abrupt end: the tone is cut at full amplitude
    Audio cut = tone(0.1, 1.0, 0.0);
    cut.samples.resize(cut.samples.size() - 1600);
    BOOST_TEST(check_signal(cut).has("abrupt_end"));
    BOOST_TEST(check_signal(tone(0.0, 0.1, 0.05)).has("too_short"));
}

BOOST_AUTO_TEST_CASE(duration_per_syllable_outliers) {
    auto out = duration_outliers({0.2, 0.21, 0.19, 0.2, 0.5, 0.05});
    std::vector<bool> expected = {false, false, false, false, true, true};
    BOOST_TEST(out == expected, boost::test_tools::per_element());
    BOOST_TEST(syllable_count("안녕하세요, AI 3개!") == 9u);
}

BOOST_AUTO_TEST_CASE(number_verbalisation) {
    BOOST_TEST(sino_korean_number("2024") == "이천이십사");
    BOOST_TEST(sino_korean_number("10000") == "만");
    BOOST_TEST(sino_korean_number("15") == "십오");
    BOOST_TEST(sino_korean_number("120000") == "십이만");
    BOOST_TEST(sino_korean_number("0") == "영");
    BOOST_TEST(native_korean_number("3") == "세");
    BOOST_TEST(native_korean_number("20") == "스무");
    BOOST_TEST(native_korean_number("25") == "스물다섯");
    BOOST_TEST(verbalize_numbers("2024년 3월 5일") == "이천이십사년 삼월 오일");
    BOOST_TEST(verbalize_numbers("사과 3개, 5명") == "사과 세개, 다섯명");
    BOOST_TEST(verbalize_numbers("3시 30분") == "세시 삼십분");
    BOOST_TEST(verbalize_numbers("3시작") == "삼시작");
    BOOST_TEST(verbalize_numbers("50%") == "오십퍼센트");
    BOOST_TEST(verbalize_numbers("$5") == "오 달러");
    BOOST_TEST(verbalize_numbers("1,500원") == "천오백원");
    BOOST_TEST(verbalize_numbers("3.14") == "삼점일사");
    BOOST_TEST(verbalize_numbers("010-1234-5678") == "공일공 일이삼사 오육칠팔");
    BOOST_TEST(normalize_korean("안녕하세요! (웃음) 오늘은 3월 5일, AI 회의입니다.") == "안녕하세요 오늘은 삼월 오일 ai 회의입니다");
}

BOOST_AUTO_TEST_CASE(cer_and_wer_known_answers) {
    // one substituted syllable out of 5, spacing ignored by CER
    auto u = score_utterance("안녕 하세요", "안녕하세오");
    BOOST_TEST(u.chars.ref == 5u);
    BOOST_TEST(u.chars.sub == 1u);
    BOOST_TEST(u.cer() == 0.2, boost::test_tools::tolerance(1e-12));
    // eojeol WER: ref [안녕, 하세요] vs hyp [안녕하세오] → 1 sub + 1 del = 1.0
    BOOST_TEST(u.words.ref == 2u);
    BOOST_TEST(u.wer() == 1.0, boost::test_tools::tolerance(1e-12));
    // numbers verbalised on both sides: digits vs words match
    auto n = score_utterance("회의는 3시에 합니다", "회의는 세 시에 합니다.");
    BOOST_TEST(n.cer() == 0.0);
    // insertion loop: rate above 1
    auto loop = score_utterance("네", "네 네 네");
    BOOST_TEST(loop.chars.ins == 2u);
    BOOST_TEST(loop.cer() == 2.0);
    auto s = summarize({u, n, loop});
    BOOST_TEST(s.n == 3u);
    // micro CER: (1 + 0 + 2) / (5 + 9 + 1) ; macro: (0.2 + 0 + 2)/3
    BOOST_TEST(s.cer_micro == 3.0 / double(5 + n.chars.ref + 1), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(s.cer_macro == 2.2 / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(s.share_cer_above_half == 1.0 / 3, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(score_utterance("", "").cer() == 0.0);
}

BOOST_AUTO_TEST_CASE(speaker_similarity_and_confusion) {
    BOOST_TEST(cosine({1, 0}, {0, 1}) == 0.0);
    BOOST_TEST(cosine({1, 2}, {2, 4}) == 1.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(cosine({1, 0}, {1, 0, 0}) == 0.0);
    auto c = centroid({{2, 0}, {0, 3}});
    BOOST_TEST(c[0] == float(1 / std::sqrt(2.0)), boost::test_tools::tolerance(1e-6f));
    std::map<std::string, Embedding> centroids = {{"a", {1, 0, 0}}, {"b", {0, 1, 0}}, {"c", {0, 0, 1}}};
    std::vector<Trial> trials = {{"a", {0.9f, 0.1f, 0}}, {"a", {0.2f, 0.8f, 0}}, {"b", {0, 1, 0.1f}},
                                 {"c", {0, 0.1f, 1}},   {"zzz", {1, 0, 0}}};
    auto r = speaker_confusion(centroids, trials);
    BOOST_TEST(r.n == 4u);
    BOOST_TEST(r.skipped == 1u);
    BOOST_TEST(r.confused == 1u);
    BOOST_TEST(r.confusion_rate == 0.25);
    BOOST_TEST(r.matrix[0][1] == 1u);
    BOOST_TEST(r.matrix[1][1] == 1u);
}

BOOST_AUTO_TEST_CASE(similarity_calibration_is_isotonic) {
    auto cal = SimilarityCalibration::from_points({{0.2, 1.5}, {0.5, 3.5}, {0.4, 3.9}, {0.8, 4.6}}, "test");
    // (0.4,3.9) and (0.5,3.5) violate monotonicity → pooled to (0.45, 3.7)
    BOOST_TEST(cal.knots().size() == 3u);
    BOOST_TEST(cal.map(0.45) == 3.7, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(cal.map(0.0) == 1.5);
    BOOST_TEST(cal.map(1.0) == 4.6);
    BOOST_TEST(cal.map(0.625) == (3.7 + 4.6) / 2, boost::test_tools::tolerance(1e-9));
    std::string path = std::string(TROUPE_BINARY_DIR) + "/test_calibration.json";
    {
        std::ofstream out(path);
        out << R"({"method": "5-point SMOS, 12 listeners", "points": [[0.1, 1.0], [0.9, 5.0]]})";
    }
    auto loaded = SimilarityCalibration::load(path);
    BOOST_TEST(loaded.map(0.5) == 3.0, boost::test_tools::tolerance(1e-12));
    {
        std::ofstream out(path);
        out << R"({"points": [[0.1]]})";
    }
    BOOST_CHECK_THROW(SimilarityCalibration::load(path), troupe::Error);
    BOOST_CHECK_THROW(SimilarityCalibration::load(path + ".missing"), troupe::Error);
    std::remove(path.c_str());
}

BOOST_AUTO_TEST_CASE(dsp_fft_mel_resample) {
    std::vector<std::complex<double>> a(8, 0.0);
    a[1] = 1;  // impulse at n=1 → X[k] = e^{-2πik/8}
    fft(a);
    BOOST_TEST(a[2].real() == 0.0, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(a[2].imag() == -1.0, boost::test_tools::tolerance(1e-12));
    // resampling a 440 Hz tone 22050 → 16000 keeps its frequency (zero crossings)
    std::vector<float> x(22050);
    for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(2 * kPi * 440 * double(i) / 22050));
    auto y = resample(x, 22050, 16000);
    BOOST_TEST(y.size() == 16000u);
    int crossings = 0;
    for (size_t i = 1000; i < 15000; ++i) crossings += (y[i - 1] < 0) != (y[i] < 0);
    BOOST_TEST(std::abs(crossings - int(2 * 440 * 14000 / 16000.0)) <= 2);
    // a 1 kHz tone puts most of its log-mel energy in the band around 1 kHz
    std::vector<float> t(16000);
    for (size_t i = 0; i < t.size(); ++i) t[i] = float(0.5 * std::sin(2 * kPi * 1000 * double(i) / 16000));
    MelConfig cfg;
    auto mel = log_mel(t, cfg);
    BOOST_TEST(mel.size() == size_t((16000 - 400) / 160 + 1));
    size_t argmax = size_t(std::max_element(mel[10].begin(), mel[10].end()) - mel[10].begin());
    BOOST_TEST(argmax >= 10u);
    BOOST_TEST(argmax <= 16u);
    auto cc = mfcc(mel, 13);
    BOOST_TEST(cc.front().size() == 13u);
    // white-ish noise is flatter than a tone
    std::vector<double> flat(64, 1.0), peaky(64, 1e-6);
    peaky[5] = 1;
    BOOST_TEST(spectral_flatness(flat) == 1.0, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(spectral_flatness(peaky) < 0.01);
    auto g1 = seeded_normal(7, 1000), g2 = seeded_normal(7, 1000);
    BOOST_TEST(g1 == g2, boost::test_tools::per_element());
    double m = 0, v = 0;
    for (double g : g1) m += g / 1000;
    for (double g : g1) v += (g - m) * (g - m) / 1000;
    BOOST_TEST(std::fabs(m) < 0.1);
    BOOST_TEST(v == 1.0, boost::test_tools::tolerance(0.15));
}
