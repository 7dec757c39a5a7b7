// train/py_random.hpp — CPython's `random` module generator (MT19937 seeded with init_by_array,
// getrandbits, _randbelow, shuffle), so that upstream's bucket sampler (`random.seed(epoch + seed)`
// then `random.shuffle`) orders the batches of every epoch exactly as upstream does.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace troupe::sovits::train {

class PyRandom {
public:
    /// random.seed(n) for an integer n ≥ 0 (the key is n's 32-bit words, least significant first).
    explicit PyRandom(uint64_t seed);

    /// One 32-bit output (genrand_uint32).
    uint32_t next_u32();
    /// random.getrandbits(k), 1 ≤ k ≤ 32.
    uint32_t getrandbits(int k);
    /// random._randbelow(n) for 1 ≤ n < 2^32: rejection sampling on n.bit_length() bits.
    uint32_t randbelow(uint64_t n);

    /// random.shuffle(v): for i from len-1 down to 1, swap v[i] with v[randbelow(i + 1)].
    template <class T>
    void shuffle(std::vector<T>& v) {
        for (size_t i = v.size(); i-- > 1;) std::swap(v[i], v[randbelow(i + 1)]);
    }

private:
    void init_genrand(uint32_t s);
    void init_by_array(const std::vector<uint32_t>& key);
    void twist();

    static constexpr int kN = 624;
    std::array<uint32_t, kN> mt_{};
    int index_ = kN + 1;
};

}  // namespace troupe::sovits::train
