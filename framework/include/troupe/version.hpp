// troupe/version.hpp — version of the plugin contract and the build fingerprint.
#pragma once

#include <cstdint>

/// Bumped on any change to the classes in troupe/plugin.hpp or troupe/types.hpp.
#define TROUPE_PLUGIN_API_VERSION 1

#define TROUPE_STRINGIFY_(x) #x
#define TROUPE_STRINGIFY(x) TROUPE_STRINGIFY_(x)

#if defined(__clang__)
#define TROUPE_COMPILER_ID "clang-" TROUPE_STRINGIFY(__clang_major__)
#elif defined(__GNUC__)
#define TROUPE_COMPILER_ID "gcc-" TROUPE_STRINGIFY(__GNUC__)
#else
#define TROUPE_COMPILER_ID "unknown"
#endif

#ifndef _GLIBCXX_USE_CXX11_ABI
#define TROUPE_CXX11_ABI "na"
#else
#define TROUPE_CXX11_ABI TROUPE_STRINGIFY(_GLIBCXX_USE_CXX11_ABI)
#endif

// TROUPE_TORCH_VERSION is set by the build (troupe-config.cmake sets it for out-of-tree plugins too).
#ifndef TROUPE_TORCH_VERSION
#define TROUPE_TORCH_VERSION "none"
#endif

namespace troupe {
/// "api=1;compiler=gcc-12;cxx11abi=1;torch=1.13.1" — host and plugin must agree exactly, since C++
/// objects (std::string, std::vector, vtables) cross the boundary.
inline const char* build_fingerprint() noexcept {
    return "api=" TROUPE_STRINGIFY(TROUPE_PLUGIN_API_VERSION) ";compiler=" TROUPE_COMPILER_ID
           ";cxx11abi=" TROUPE_CXX11_ABI ";torch=" TROUPE_TORCH_VERSION;
}
}  // namespace troupe
