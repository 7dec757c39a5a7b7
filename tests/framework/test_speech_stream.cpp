// troupe::synthesize_stream (plugin.hpp): a backend with StreamingSpeechBackend streams its pieces; one
// without it (every v1/v2 plugin) gives its whole audio as one piece; a sink returning false stops the
// synthesis with Errc::cancelled; errors pass through.
#define BOOST_TEST_MODULE speech_stream
#include <boost/test/unit_test.hpp>

#include <troupe/plugin.hpp>

namespace {

class Plain : public troupe::SpeechBackend {
public:
    bool fail = false;
    troupe::Status synthesize(const troupe::SpeechRequest&, troupe::Audio& out) noexcept override {
        if (fail) return troupe::Status::error(troupe::Errc::runtime, "broken");
        out.sample_rate = 16000;
        out.samples.assign(100, 0.25f);
        return {};
    }
};

class Streaming : public Plain, public troupe::StreamingSpeechBackend {
public:
    troupe::Status synthesize_stream(const troupe::SpeechRequest&, troupe::Audio& out, troupe::AudioSink sink,
                                     void* user) noexcept override {
        out.sample_rate = 16000;
        for (int i = 0; i < 4; ++i) {
            const std::vector<float> piece(25, 0.25f);
            out.samples.insert(out.samples.end(), piece.begin(), piece.end());
            if (sink && !sink(user, 16000, piece.data(), piece.size()))
                return troupe::Status::error(troupe::Errc::cancelled, "stopped");
        }
        return {};
    }
};

struct Collected {
    std::vector<size_t> sizes;
    int rate = 0;
    size_t stop_after = 1000;
};

bool collect(void* user, int rate, const float*, size_t count) {
    auto* c = static_cast<Collected*>(user);
    c->rate = rate;
    c->sizes.push_back(count);
    return c->sizes.size() < c->stop_after;
}

}  // namespace

BOOST_AUTO_TEST_CASE(streaming_backend_streams_and_plain_backend_gives_one_piece) {
    Streaming s;
    Plain p;
    for (troupe::SpeechBackend* b : {static_cast<troupe::SpeechBackend*>(&s), static_cast<troupe::SpeechBackend*>(&p)}) {
        Collected c;
        troupe::Audio audio;
        BOOST_TEST(troupe::synthesize_stream(*b, {}, audio, &collect, &c).ok());
        BOOST_TEST(audio.samples.size() == 100u);
        BOOST_TEST(c.rate == 16000);
        BOOST_TEST(c.sizes.size() == (b == &s ? 4u : 1u));
    }
}

BOOST_AUTO_TEST_CASE(a_sink_stops_and_errors_pass_through) {
    Streaming s;
    Plain p;
    for (troupe::SpeechBackend* b : {static_cast<troupe::SpeechBackend*>(&s), static_cast<troupe::SpeechBackend*>(&p)}) {
        Collected c;
        c.stop_after = 1;
        troupe::Audio audio;
        BOOST_TEST((troupe::synthesize_stream(*b, {}, audio, &collect, &c).code() == troupe::Errc::cancelled));
        BOOST_TEST(c.sizes.size() == 1u);
    }
    p.fail = true;
    troupe::Audio audio;
    Collected c;
    BOOST_TEST((troupe::synthesize_stream(p, {}, audio, &collect, &c).code() == troupe::Errc::runtime));
    BOOST_TEST(c.sizes.empty());
    BOOST_TEST(troupe::synthesize_stream(s, {}, audio, nullptr, nullptr).ok());  // no sink: just the audio
}
