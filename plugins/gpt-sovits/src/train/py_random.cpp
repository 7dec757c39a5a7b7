#include "train/py_random.hpp"

#include <troupe/status.hpp>

#include <algorithm>

namespace troupe::sovits::train {

PyRandom::PyRandom(uint64_t seed) {
    std::vector<uint32_t> key;
    do {
        key.push_back(uint32_t(seed & 0xFFFFFFFFu));
        seed >>= 32;
    } while (seed != 0);
    init_by_array(key);
}

void PyRandom::init_genrand(uint32_t s) {
    mt_[0] = s;
    for (int i = 1; i < kN; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + uint32_t(i);
    index_ = kN;
}

void PyRandom::init_by_array(const std::vector<uint32_t>& key) {
    init_genrand(19650218u);
    int i = 1;
    size_t j = 0;
    for (size_t k = std::max<size_t>(kN, key.size()); k; --k) {
        mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1664525u)) + key[j] + uint32_t(j);
        ++i;
        ++j;
        if (i >= kN) {
            mt_[0] = mt_[kN - 1];
            i = 1;
        }
        if (j >= key.size()) j = 0;
    }
    for (int k = kN - 1; k; --k) {
        mt_[i] = (mt_[i] ^ ((mt_[i - 1] ^ (mt_[i - 1] >> 30)) * 1566083941u)) - uint32_t(i);
        ++i;
        if (i >= kN) {
            mt_[0] = mt_[kN - 1];
            i = 1;
        }
    }
    mt_[0] = 0x80000000u;
    index_ = kN;
}

void PyRandom::twist() {
    constexpr uint32_t kUpper = 0x80000000u, kLower = 0x7fffffffu, kMatrix = 0x9908b0dfu;
    for (int k = 0; k < kN; ++k) {
        const uint32_t y = (mt_[k] & kUpper) | (mt_[(k + 1) % kN] & kLower);
        mt_[k] = mt_[(k + 397) % kN] ^ (y >> 1) ^ ((y & 1u) ? kMatrix : 0u);
    }
    index_ = 0;
}

uint32_t PyRandom::next_u32() {
    if (index_ >= kN) twist();
    uint32_t y = mt_[index_++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

uint32_t PyRandom::getrandbits(int k) {
    if (k < 1 || k > 32) throw Error(Errc::invalid_argument, "PyRandom::getrandbits: k must be in [1, 32]");
    return next_u32() >> (32 - k);
}

uint32_t PyRandom::randbelow(uint64_t n) {
    if (n == 0 || n > 0xFFFFFFFFull) throw Error(Errc::invalid_argument, "PyRandom::randbelow: n must be in [1, 2^32)");
    int k = 0;
    while ((n >> k) != 0) ++k;  // n.bit_length()
    uint32_t r = getrandbits(k);
    while (r >= n) r = getrandbits(k);
    return r;
}

}  // namespace troupe::sovits::train
