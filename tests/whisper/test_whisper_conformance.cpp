// Whisper parity with transformers' WhisperForConditionalGeneration on the tiny random-weight fixture sets
// (tests/whisper/tools/make_whisper_fixtures.py): mel filters, log-mel features, encoder output, decoder logits
// at every step (cached decoding and teacher forcing), greedy and beam-5 token ids and texts, batched decoding,
// and a long input decoded by consecutive windows.
#define BOOST_TEST_MODULE whisper_conformance
#include <boost/test/unit_test.hpp>

#include "../scorers/fixture.hpp"
#include "recognizer.hpp"

#include <c10/core/GradMode.h>

using namespace troupe;
using namespace troupe::whisper;
using scorertest::kTolerance;
using scorertest::max_abs_diff;

namespace {

struct Set {
    std::string dir;
    nlohmann::json cases;
    st::File tensors;
    at::Tensor tensor(const std::string& name) const { return tensors.tensor(name).clone(); }
};

Set open_set(const std::string& dir) {
    return Set{dir, scorertest::read_json(dir + "/cases.json"), st::File::open(dir + "/cases.safetensors")};
}

std::unique_ptr<Recognizer> load(const Set& s, int64_t beams) {
    RecognizerOptions o;
    o.load.device = scorertest::test_device();
    o.search.num_beams = beams;
    o.search.max_new_tokens = s.cases["max_new_tokens"].get<int64_t>();
    return Recognizer::load_dir(s.dir + "/model", o);
}

/// Logits of `tokens` after the prompt in one teacher-forced decoder call: the rows that predict each token
/// (and the end-of-text row when `ended`).
at::Tensor teacher_forced(const Recognizer& r, const at::Tensor& encoder_out, const std::vector<int64_t>& tokens, bool ended) {
    std::vector<int64_t> seq = r.prompt();
    seq.insert(seq.end(), tokens.begin(), tokens.end());
    DecoderCache cache = r.model().start(encoder_out);
    const at::Tensor logits = r.model().decode(cache, at::tensor(seq, at::kLong).unsqueeze(0))[0];
    const int64_t P = int64_t(r.prompt().size());
    return logits.narrow(0, P - 1, int64_t(tokens.size()) + (ended ? 1 : 0));
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_set_matches_the_reference) {
    c10::NoGradGuard no_grad;
    const auto sets = scorertest::fixture_sets("whisper");
    if (sets.empty()) return;
    for (const std::string& dir : sets) {
        BOOST_TEST_CONTEXT("set " << dir) {
            const Set s = open_set(dir);
            auto greedy = load(s, 1);
            auto beam = load(s, s.cases["num_beams"].get<int64_t>());
            BOOST_CHECK(greedy->prompt() == scorertest::ids(s.cases["prompt"]));
            if (s.tensors.contains("mel_filters")) {
                const double d = max_abs_diff(greedy->front_end().filters(), s.tensor("mel_filters"));
                BOOST_TEST_MESSAGE("mel filters max diff " << d);
                BOOST_CHECK_LE(d, 1e-6);
            }
            std::vector<at::Tensor> all_features;
            for (const auto& c : s.cases["cases"]) {
                const std::string name = c["name"].get<std::string>();
                BOOST_TEST_CONTEXT("case " << name) {
                    const std::vector<float> wav = scorertest::read_wav(dir + "/" + c["wav"].get<std::string>());
                    const at::Tensor ref_features = s.tensor(name + ".input_features");
                    const at::Tensor features = greedy->front_end()(scorertest::to_tensor(wav))[0];
                    const double df = max_abs_diff(features, ref_features);
                    BOOST_TEST_MESSAGE(name << ": features max diff " << df);
                    BOOST_CHECK_LE(df, kTolerance);
                    all_features.push_back(ref_features);

                    const at::Tensor enc = greedy->model().encode(ref_features.unsqueeze(0));
                    const double de = max_abs_diff(enc[0], s.tensor(name + ".encoder_output"));
                    BOOST_TEST_MESSAGE(name << ": encoder max diff " << de);
                    BOOST_CHECK_LE(de, kTolerance);

                    // Greedy with the cached decoder, every step's raw logits observed.
                    const nlohmann::json& g = c["greedy"];
                    const at::Tensor ref_steps = s.tensor(g["step_logits"].get<std::string>());
                    std::vector<at::Tensor> steps;
                    const Searcher searcher(greedy->model(), greedy->settings());
                    SearchOptions so;
                    so.max_new_tokens = s.cases["max_new_tokens"].get<int64_t>();
                    const auto hyp = searcher.run(enc, greedy->prompt(), so,
                                                  [&](int64_t, const at::Tensor& l) { steps.push_back(l[0].to(at::kCPU).clone()); });
                    BOOST_CHECK(hyp[0].tokens == scorertest::ids(g["tokens"]));
                    BOOST_CHECK_EQUAL(hyp[0].ended, g["ended_with_eot"].get<bool>());
                    const int64_t n = std::min<int64_t>(int64_t(steps.size()), ref_steps.size(0));
                    BOOST_CHECK_EQUAL(n, ref_steps.size(0));
                    double dl = 0;
                    for (int64_t i = 0; i < n; ++i) dl = std::max(dl, max_abs_diff(steps[size_t(i)], ref_steps[i]));
                    BOOST_TEST_MESSAGE(name << ": greedy step logits max diff " << dl << " over " << n << " steps");
                    BOOST_CHECK_LE(dl, kTolerance);
                    BOOST_CHECK_EQUAL(greedy->tokenizer().decode(hyp[0].tokens), g["text"].get<std::string>());
                    if (g.contains("hf_decode")) BOOST_CHECK_EQUAL(g["text"].get<std::string>(), g["hf_decode"].get<std::string>());

                    // Beam search: ids, text, and the teacher-forced logits of the chosen path.
                    const nlohmann::json& b = c["beam5"];
                    const auto bh = beam->decode_features(ref_features.unsqueeze(0));
                    BOOST_CHECK(bh[0].tokens == scorertest::ids(b["tokens"]));
                    BOOST_CHECK_EQUAL(bh[0].ended, b["ended_with_eot"].get<bool>());
                    BOOST_CHECK_EQUAL(bh[0].text, b["text"].get<std::string>());
                    const at::Tensor tf = teacher_forced(*beam, enc, scorertest::ids(b["tokens"]), b["ended_with_eot"].get<bool>());
                    const double db = max_abs_diff(tf, s.tensor(b["step_logits"].get<std::string>()));
                    BOOST_TEST_MESSAGE(name << ": beam path logits (teacher forced) max diff " << db);
                    BOOST_CHECK_LE(db, kTolerance);
                }
            }
            // All inputs in one batch decode as they do alone.
            const auto batch = greedy->decode_features(at::stack(all_features));
            for (size_t i = 0; i < batch.size(); ++i)
                BOOST_CHECK(batch[i].tokens == scorertest::ids(s.cases["cases"][i]["greedy"]["tokens"]));

            // The long input: consecutive windows, each decoded on its own.
            const nlohmann::json& lc = s.cases["long"];
            const std::vector<float> wav = scorertest::read_wav(dir + "/" + lc["wav"].get<std::string>());
            const auto windows = greedy->transcribe_windows(wav);
            BOOST_REQUIRE_EQUAL(windows.size(), lc["windows"].size());
            for (size_t w = 0; w < windows.size(); ++w) {
                BOOST_CHECK(windows[w].tokens == scorertest::ids(lc["windows"][w]["tokens"]));
                if (lc["windows"][w].contains("input_features")) {
                    const std::vector<float> piece(wav.begin() + lc["windows"][w]["start_sample"].get<long>(),
                                                   wav.begin() + lc["windows"][w]["start_sample"].get<long>() +
                                                       lc["windows"][w]["num_samples"].get<long>());
                    BOOST_CHECK_LE(max_abs_diff(greedy->front_end()(scorertest::to_tensor(piece))[0],
                                                s.tensor(lc["windows"][w]["input_features"].get<std::string>())), kTolerance);
                }
            }
            BOOST_CHECK_EQUAL(greedy->transcribe(wav), lc["text"].get<std::string>());
        }
    }
}

BOOST_AUTO_TEST_CASE(utf8_replacement_is_pythons) {
    // Python: b"\xec\x95\x88\xec".decode("utf-8", "replace") == "안\ufffd"; b"\xe0\x80" -> two replacements.
    BOOST_CHECK_EQUAL(Tokenizer::decode_utf8_replace("\xEC\x95\x88\xEC"), "\xEC\x95\x88\xEF\xBF\xBD");
    BOOST_CHECK_EQUAL(Tokenizer::decode_utf8_replace("\xE0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");
    BOOST_CHECK_EQUAL(Tokenizer::decode_utf8_replace("a\xF0\x9F\x98Z"), "a\xEF\xBF\xBDZ");
}
