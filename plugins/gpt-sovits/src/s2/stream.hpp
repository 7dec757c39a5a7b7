// s2/stream.hpp — S2 decoding in chunks while the semantic tokens are still being generated
// (streaming synthesis). Tokens are pushed one by one; a chunk of `chunk_tokens` new tokens is
// decoded as soon as `lookahead_tokens` more have arrived after it:
//   - the encoder (enc_p, global attention) runs over every token so far (the prefix), as
//     upstream's decode_streaming does; only the tokens after the lookahead are missing;
//   - the prior sample, reverse flow and HiFi-GAN generator run on the chunk's frames plus
//     `context_tokens` of frames before it and the lookahead after it (their convolutions then see
//     real neighbours instead of zero padding), and only the chunk's samples are kept;
//   - the first `crossfade_tokens` of samples after a chunk's end are held back and cross-faded
//     (raised cosine) with the next chunk's decode of the same samples, so a join has no step.
// The noise of the prior is addressed by frame (s2::prior_noise), so it is the one-shot decode's.
// The last chunk (finish()) decodes every remaining token with the whole sequence known.
// With speed ≠ 1 the frame count is not proportional to the tokens, so the whole segment is one
// chunk (decoded at finish()). Concatenated chunks ≈ the one-shot decode (tests/gpt-sovits/test_s2_stream.cpp).
#pragma once

#include "s2/model.hpp"

#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace troupe::sovits::s2 {

struct StreamOptions {
    int64_t chunk_tokens = 16;      // new tokens per chunk (16 tokens = 640 ms of audio at 25 Hz)
    int64_t lookahead_tokens = 4;   // tokens after a chunk decoded with it (delay before it is sent)
    int64_t context_tokens = 24;    // tokens before a chunk whose frames are decoded with it
    int64_t crossfade_tokens = 2;   // samples of this many tokens cross-faded at each join
};

/// Receives each finished piece of audio (float samples at the S2 rate, in order). Return false to
/// stop: the streamer then decodes nothing more and push()/finish() return false.
using AudioChunkFn = std::function<bool(const float* samples, size_t count)>;

class StreamDecoder {
public:
    /// text (1, N) phone ids; ge (1, gin, 1). Throws Error(invalid_argument) for bad options.
    StreamDecoder(const S2Model& model, at::Tensor text, at::Tensor ge, DecodeOptions decode, StreamOptions stream,
                  AudioChunkFn on_audio);

    /// Adds one semantic token; decodes a chunk when enough tokens are there. False: stopped.
    bool push(int64_t token);
    /// Decodes the remaining tokens (the last chunk). False: stopped (or no tokens).
    bool finish();

    const std::vector<int64_t>& tokens() const { return tokens_; }
    /// Every sample sent so far (the concatenated chunks).
    const std::vector<float>& audio() const { return audio_; }
    int64_t chunks() const { return chunks_; }

private:
    bool decode_until(int64_t end, bool last);
    bool emit(std::vector<float> piece);

    const S2Model& model_;
    at::Tensor text_, ge_;
    DecodeOptions decode_;
    StreamOptions stream_;
    AudioChunkFn on_audio_;
    int64_t frames_per_token_ = 2, samples_per_token_ = 1280;
    std::vector<int64_t> tokens_;
    int64_t done_ = 0;               // tokens whose samples were sent (except the held tail)
    std::vector<float> held_;        // samples after done_'s boundary, to cross-fade with the next chunk
    std::vector<float> audio_;
    int64_t chunks_ = 0;
    bool stopped_ = false;
};

}  // namespace troupe::sovits::s2
