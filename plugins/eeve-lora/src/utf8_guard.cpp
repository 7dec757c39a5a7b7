#include "utf8_guard.hpp"

#include "vocab.hpp"

#include <algorithm>
#include <string>

namespace troupe::llama {

namespace {

// Bytes a whole sequence takes when it starts with `b` (1 for ASCII), 0 when `b` cannot start one.
int sequence_length(int b) {
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 0;
}

// The strict range of the byte that follows lead byte `b` (Unicode table 3-7).
void first_continuation(int b, uint8_t& lo, uint8_t& hi) {
    lo = 0x80;
    hi = 0xBF;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
}

}  // namespace

Utf8Guard::Utf8Guard(std::vector<int16_t> byte_values) : bytes_(std::move(byte_values)) {
    for (int16_t b : bytes_)
        if (b >= 0) has_bytes_ = true;
}

Utf8Guard Utf8Guard::for_vocab(const Vocab& vocab) {
    std::vector<int16_t> bytes(static_cast<size_t>(vocab.size()), -1);
    for (int64_t id = 0; id < vocab.size(); ++id) {
        if (!vocab.is_byte_token(id)) continue;
        const std::string& t = vocab.id_to_token(id);  // "<0xHH>"
        if (t.size() == 6) bytes[static_cast<size_t>(id)] = static_cast<int16_t>(std::stoi(t.substr(3, 2), nullptr, 16));
    }
    return Utf8Guard(std::move(bytes));
}

bool Utf8Guard::allowed(const State& s, int64_t id, int64_t remaining) const {
    const int b = id >= 0 && id < size() ? bytes_[static_cast<size_t>(id)] : -1;
    if (s.pending()) return b >= s.lo && b <= s.hi;
    if (b < 0) return true;
    const int n = sequence_length(b);
    return n > 0 && n <= remaining;
}

void Utf8Guard::mask(const State& s, int64_t remaining, std::vector<float>& logits) const {
    if (!has_bytes_) return;
    constexpr float kNegInf = -std::numeric_limits<float>::infinity();
    const int64_t n = static_cast<int64_t>(logits.size());
    if (s.pending()) {
        for (int64_t id = 0; id < n; ++id)
            if (!allowed(s, id, remaining)) logits[static_cast<size_t>(id)] = kNegInf;
        return;
    }
    for (int64_t id = 0; id < std::min(n, size()); ++id)
        if (bytes_[static_cast<size_t>(id)] >= 0 && !allowed(s, id, remaining)) logits[static_cast<size_t>(id)] = kNegInf;
}

void Utf8Guard::accept(State& s, int64_t id) const {
    const int b = id >= 0 && id < size() ? bytes_[static_cast<size_t>(id)] : -1;
    if (s.pending()) {
        if (b >= s.lo && b <= s.hi) {
            --s.need;
            s.lo = 0x80;
            s.hi = 0xBF;
        } else {
            s = State{};
        }
        return;
    }
    const int n = b < 0 ? 1 : sequence_length(b);
    s = State{};
    if (n > 1) {
        s.need = static_cast<uint8_t>(n - 1);
        first_continuation(b, s.lo, s.hi);
    }
}

}  // namespace troupe::llama
