// utf8_guard.hpp — keeps sampled text valid UTF-8 when the vocabulary has byte-fallback tokens
// ("<0xHH>"). Byte tokens can spell a character over several steps; sampled freely they can also
// spell broken sequences, which the decoder turns into U+FFFD. The guard tracks the pending,
// incomplete sequence and says which ids may come next:
//   - no sequence pending: a byte token must be ASCII or a valid lead byte (C2–DF, E0–EF, F0–F4)
//     whose whole sequence still fits in the tokens left; continuation bytes are masked;
//   - a sequence pending: only byte tokens that continue it (strict ranges after E0, ED, F0, F4)
//     are allowed; every other token, EOS included, is masked.
// Pure C++ (no LibTorch): the Sampler applies it to a CPU copy of the logits.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace troupe::llama {

class Vocab;

class Utf8Guard {
public:
    /// `byte_values[id]` = 0..255 for a byte-fallback token, -1 for any other token.
    explicit Utf8Guard(std::vector<int16_t> byte_values);
    /// The byte tokens of `vocab` (Vocab::is_byte_token).
    static Utf8Guard for_vocab(const Vocab& vocab);

    /// The incomplete sequence so far: `need` continuation bytes still to come, the next one in [lo, hi].
    struct State {
        uint8_t need = 0;
        uint8_t lo = 0x80, hi = 0xBF;
        bool pending() const { return need > 0; }
    };

    /// True when the vocabulary has byte tokens (otherwise the guard never masks anything).
    bool active() const { return has_bytes_; }
    int64_t size() const { return static_cast<int64_t>(bytes_.size()); }
    /// May `id` come next in `state`, with `remaining` tokens left to generate (this one included)?
    /// Ids outside the table are treated as ordinary tokens.
    bool allowed(const State& state, int64_t id, int64_t remaining = std::numeric_limits<int64_t>::max()) const;
    /// Sets the logits of every id that may not come next to -inf (`logits` has one entry per id;
    /// entries past the table are ordinary tokens).
    void mask(const State& state, int64_t remaining, std::vector<float>& logits) const;
    /// Advances `state` past `id` (an id that was not allowed resets it).
    void accept(State& state, int64_t id) const;

private:
    std::vector<int16_t> bytes_;
    bool has_bytes_ = false;
};

}  // namespace troupe::llama
