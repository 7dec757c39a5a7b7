#include "s2/stream.hpp"

#include <troupe/status.hpp>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace troupe::sovits::s2 {

StreamDecoder::StreamDecoder(const S2Model& model, at::Tensor text, at::Tensor ge, DecodeOptions decode,
                             StreamOptions stream, AudioChunkFn on_audio)
    : model_(model), text_(std::move(text)), ge_(std::move(ge)), decode_(decode), stream_(stream),
      on_audio_(std::move(on_audio)) {
    if (stream_.chunk_tokens < 1 || stream_.lookahead_tokens < 0 || stream_.context_tokens < 0 ||
        stream_.crossfade_tokens < 0)
        throw Error(Errc::invalid_argument,
                    fmt::format("S2 streaming: chunk ({}) must be ≥ 1 token, lookahead ({}), context ({}) and "
                                "cross-fade ({}) ≥ 0",
                                stream_.chunk_tokens, stream_.lookahead_tokens, stream_.context_tokens,
                                stream_.crossfade_tokens));
    frames_per_token_ = model_.frames_per_token();
    samples_per_token_ = frames_per_token_ * model_.config().hop();
}

bool StreamDecoder::push(int64_t token) {
    if (stopped_) return false;
    tokens_.push_back(token);
    if (decode_.speed != 1.0) return true;  // frames not proportional to tokens: one chunk at finish()
    const int64_t n = int64_t(tokens_.size());
    if (n >= done_ + stream_.chunk_tokens + stream_.lookahead_tokens)
        return decode_until(done_ + stream_.chunk_tokens, false);
    return true;
}

bool StreamDecoder::finish() {
    if (stopped_ || tokens_.empty()) return false;
    if (done_ >= int64_t(tokens_.size()) && held_.empty()) return true;
    return decode_until(int64_t(tokens_.size()), true);
}

// Decodes the samples of tokens [done_, end) (with the held tail cross-faded in) and sends them.
bool StreamDecoder::decode_until(int64_t end, bool last) {
    c10::NoGradGuard no_grad;
    const int64_t n = int64_t(tokens_.size());
    const int64_t window_end = last ? n : std::min(n, end + stream_.lookahead_tokens);
    const int64_t first = std::max<int64_t>(0, done_ - stream_.context_tokens);
    const at::Tensor codes =
        at::tensor(at::ArrayRef<int64_t>(tokens_.data(), size_t(window_end)), at::kLong).view({1, 1, window_end});
    const Prior prior = model_.encode(codes, text_, ge_, decode_.speed);
    // With speed ≠ 1 the only chunk is the whole segment: every frame of the prior.
    const int64_t frame_end = last && decode_.speed != 1.0 ? prior.m.size(2) : window_end * frames_per_token_;
    const at::Tensor wav = model_.decode_frames(prior, first * frames_per_token_, frame_end, decode_)
                               .flatten()
                               .to(at::kCPU, at::kFloat)
                               .contiguous();
    const float* w = wav.data_ptr<float>();
    const int64_t total = wav.numel();
    const int64_t from = (done_ - first) * samples_per_token_;
    const int64_t to = last ? total : (end - first) * samples_per_token_;
    std::vector<float> piece(w + from, w + to);
    // Cross-fade the previous chunk's tail into the start of this one (raised cosine).
    const size_t fade = std::min(held_.size(), piece.size());
    for (size_t i = 0; i < fade; ++i) {
        const double a = 0.5 - 0.5 * std::cos(M_PI * (double(i) + 0.5) / double(fade));
        piece[i] = float(double(held_[i]) * (1.0 - a) + double(piece[i]) * a);
    }
    held_.clear();
    if (!last) {
        const int64_t keep = std::min(stream_.crossfade_tokens * samples_per_token_, total - to);
        held_.assign(w + to, w + to + keep);
    }
    done_ = last ? n : end;
    return emit(std::move(piece));
}

bool StreamDecoder::emit(std::vector<float> piece) {
    ++chunks_;
    audio_.insert(audio_.end(), piece.begin(), piece.end());
    if (on_audio_ && !piece.empty() && !on_audio_(piece.data(), piece.size())) stopped_ = true;
    return !stopped_;
}

}  // namespace troupe::sovits::s2
