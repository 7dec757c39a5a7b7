// Wav2Vec2ForCTC vs the transformers reference (../shared/conformance/wav2vec2-ctc): every input the fixture lists.
#define BOOST_TEST_MODULE wav2vec2_ctc_conformance
#include <boost/test/unit_test.hpp>

#include "fixture.hpp"

#include "ctc_model.hpp"
#include "transcriber.hpp"

#include <c10/core/GradMode.h>

using namespace ssltest;
using troupe::w2v::CtcModel;

namespace {
struct Fixture {
    std::string dir = conformance_root() + "/wav2vec2-ctc";
    nlohmann::json cases = read_json(dir + "/cases.json");
    c10::NoGradGuard no_grad;
};
std::vector<int64_t> ids(const nlohmann::json& j) { return j.get<std::vector<int64_t>>(); }
}  // namespace

BOOST_FIXTURE_TEST_CASE(vocabulary_matches, Fixture) {
    const auto vocab = troupe::w2v::CtcVocab::load_dir(dir + "/model");
    BOOST_CHECK_EQUAL(vocab.size(), cases["vocab"].size());
    for (auto it = cases["vocab"].begin(); it != cases["vocab"].end(); ++it)
        BOOST_CHECK_EQUAL(vocab.symbol(it->get<int64_t>()), it.key());
    BOOST_CHECK_EQUAL(vocab.blank_id(), cases["blank_id"].get<int64_t>());
    BOOST_CHECK_EQUAL(vocab.symbol(vocab.word_delimiter_id()), cases["word_delimiter"].get<std::string>());
}

BOOST_FIXTURE_TEST_CASE(every_input_matches_reference, Fixture) {
    const CtcModel model = CtcModel::load_dir(dir + "/model", load_options());
    BOOST_TEST_MESSAGE("device " << device_name());
    const auto ref = troupe::st::File::open(dir + "/cases.safetensors");
    BOOST_REQUIRE(!cases["inputs"].empty());
    for (const auto& input : cases["inputs"]) {
        const std::string name = input["name"];
        BOOST_TEST_CONTEXT("input " << name) {
            int rate = 0;
            const std::vector<float> wav = read_wav(dir + "/" + input["wav_file"].get<std::string>(), rate);
            BOOST_CHECK_EQUAL(rate, model.encoder().feature_extractor().sampling_rate);
            at::Tensor waveform = to_tensor(wav);
            const auto& refs = input["input_tensors"];
            BOOST_CHECK_EQUAL(max_abs_diff(waveform, tensor_ref(dir, refs["waveform"])), 0.0);
            at::Tensor input_values = model.encoder().prepare(waveform);
            const double dv = max_abs_diff(input_values, tensor_ref(dir, refs["input_values"]));
            BOOST_TEST_MESSAGE(name << ".input_values max abs diff " << dv);
            BOOST_CHECK_LE(dv, 1e-5);
            BOOST_CHECK_EQUAL(model.encoder().config().num_frames(int64_t(wav.size())), input["num_frames"].get<int64_t>());

            const auto out = model.forward(input_values, /*with_traces=*/true);
            const std::vector<int64_t> argmax = CtcModel::argmax_ids(out.logits);
            int checked = 0;
            for (const auto& full : input["tensors"]) {
                const std::string key = full.get<std::string>();
                BOOST_REQUIRE(key.rfind(name + ".", 0) == 0);
                const std::string leaf = key.substr(name.size() + 1);
                at::Tensor expected = ref.tensor(key);
                if (leaf == "argmax_ids") {
                    at::Tensor e = expected.to(at::kLong).contiguous();
                    std::vector<int64_t> ev(e.data_ptr<int64_t>(), e.data_ptr<int64_t>() + e.numel());
                    BOOST_CHECK(argmax == ev);
                } else {
                    at::Tensor mine;
                    if (leaf == "logits") {
                        mine = out.logits;
                    } else if (leaf.rfind("trace.", 0) == 0) {
                        auto it = out.encoder.traces.find(leaf.substr(6));
                        BOOST_REQUIRE_MESSAGE(it != out.encoder.traces.end(), "no trace for " << key);
                        mine = it->second;
                    } else {
                        BOOST_FAIL("unknown fixture tensor " << key);
                    }
                    BOOST_REQUIRE_MESSAGE(mine.sizes() == expected.sizes(), key << ": shape " << mine.sizes() << " vs " << expected.sizes());
                    const double d = max_abs_diff(mine, expected);
                    BOOST_TEST_MESSAGE(key << " max abs diff " << d);
                    BOOST_CHECK_MESSAGE(d <= 1e-4, key << " max abs diff " << d);
                }
                ++checked;
            }
            BOOST_CHECK_GT(checked, 0);

            // Greedy decode, field by field.
            BOOST_CHECK(argmax == ids(input["argmax_ids"]));
            const auto decoded = model.vocab().decode(argmax);
            BOOST_CHECK(decoded.collapsed == ids(input["collapsed_ids"]));
            BOOST_CHECK(decoded.without_blank == ids(input["ids_without_pad"]));
            BOOST_CHECK_EQUAL(decoded.text, input["greedy_text"].get<std::string>());
            BOOST_CHECK_EQUAL(decoded.text_stripped, input["greedy_text_stripped"].get<std::string>());
            if (input.contains("hf_tokenizer_decode") && input["hf_tokenizer_decode"].is_string())
                BOOST_CHECK_EQUAL(decoded.text_stripped, input["hf_tokenizer_decode"].get<std::string>());

            // The transcriber (the plugin's object) on the WAV samples.
            troupe::w2v::Wav2Vec2CtcTranscriber transcriber({{"model.dir", dir + "/model"}, {"device", device_name()}});
            troupe::Audio audio;
            audio.sample_rate = rate;
            audio.samples = wav;
            std::string text;
            const troupe::Status st = transcriber.transcribe(audio, text);
            BOOST_REQUIRE_MESSAGE(st.ok(), st.message());
            BOOST_CHECK_EQUAL(text, input["greedy_text_stripped"].get<std::string>());
        }
    }
}

BOOST_FIXTURE_TEST_CASE(transcriber_rejects_bad_input, Fixture) {
    troupe::w2v::Wav2Vec2CtcTranscriber transcriber({{"model.dir", dir + "/model"}});
    std::string text;
    troupe::Audio empty;
    empty.sample_rate = 16000;
    BOOST_CHECK(transcriber.transcribe(empty, text).code() == troupe::Errc::invalid_argument);
    troupe::Audio no_rate;
    no_rate.samples.assign(16000, 0.f);
    BOOST_CHECK(transcriber.transcribe(no_rate, text).code() == troupe::Errc::invalid_argument);
    troupe::Audio nan_audio;
    nan_audio.sample_rate = 16000;
    nan_audio.samples.assign(16000, std::nanf(""));
    BOOST_CHECK(transcriber.transcribe(nan_audio, text).code() == troupe::Errc::invalid_argument);
    BOOST_CHECK_THROW(troupe::w2v::Wav2Vec2CtcTranscriber({}), troupe::Error);
    BOOST_CHECK_THROW(troupe::w2v::Wav2Vec2CtcTranscriber({{"model.dir", dir + "/does-not-exist"}}), troupe::Error);
    // Another sample rate goes through the resampler and still yields text of the model's symbols.
    troupe::Audio tone;
    tone.sample_rate = 44100;
    for (int i = 0; i < 44100; ++i) tone.samples.push_back(0.3f * std::sin(2 * 3.14159265f * 220.f * i / 44100.f));
    BOOST_CHECK(transcriber.transcribe(tone, text).ok());
}

// Audio longer than max_chunk_seconds is cut into equal chunks, each decoded on its own, texts joined by a space.
BOOST_FIXTURE_TEST_CASE(long_audio_is_chunked, Fixture) {
    troupe::w2v::Wav2Vec2CtcTranscriber transcriber(
        {{"model.dir", dir + "/model"}, {"device", device_name()}, {"max_chunk_seconds", "1"}});
    const CtcModel& model = transcriber.model();
    troupe::Audio audio;
    while (audio.samples.size() < 40000)  // all fixture waveforms, repeated to at least 2.5 s
        for (const auto& input : cases["inputs"]) {
            const std::vector<float> wav = read_wav(dir + "/" + input["wav_file"].get<std::string>(), audio.sample_rate);
            audio.samples.insert(audio.samples.end(), wav.begin(), wav.end());
        }
    BOOST_REQUIRE_EQUAL(audio.sample_rate, 16000);
    const int64_t total = int64_t(audio.samples.size()), chunks = (total + 15999) / 16000, len = (total + chunks - 1) / chunks;
    at::Tensor wave = to_tensor(audio.samples);
    std::string expected;
    for (int64_t begin = 0; begin < total; begin += len) {
        const int64_t n = std::min(len, total - begin);
        if (n < model.encoder().config().min_samples()) break;
        const std::string piece = model.transcribe(wave.narrow(0, begin, n)).text_stripped;
        if (!piece.empty()) expected += (expected.empty() ? "" : " ") + piece;
    }
    std::string text;
    BOOST_REQUIRE(transcriber.transcribe(audio, text).ok());
    BOOST_TEST_MESSAGE(chunks << " chunks: " << text);
    BOOST_CHECK_EQUAL(text, expected);
    BOOST_CHECK_GT(chunks, 1);
    for (const char* bad : {"0.5", "abc", "2x"})
        BOOST_CHECK_THROW(troupe::w2v::Wav2Vec2CtcTranscriber({{"model.dir", dir + "/model"}, {"max_chunk_seconds", bad}}),
                          troupe::Error);
}
