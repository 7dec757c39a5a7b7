// troupe/version.hpp — version of the plugin contract and the build fingerprint.
#pragma once

#include <cstdint>

/// The contract this header describes. Bumped on any change to troupe/plugin.hpp, troupe/types.hpp or
/// troupe/plugin_command.h.
///   1  Module / Object classes, the three entry points.
///   2  plugin.toml [[commands]] and the optional troupe_plugin_run_command entry point; the build
///      fingerprint names LibTorch only for plugins that link it. The classes are unchanged, so the
///      host still loads version-1 plugins (TROUPE_PLUGIN_API_VERSION_MIN).
#define TROUPE_PLUGIN_API_VERSION 2
/// The oldest plugin API version the host loads.
#define TROUPE_PLUGIN_API_VERSION_MIN 1

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

// TROUPE_PLUGIN_TORCH_VERSION is defined by troupe_add_plugin(... TORCH) only (in tree and out of
// tree): a plugin that links LibTorch names its version, a torch-free plugin and the host do not.
#ifdef TROUPE_PLUGIN_TORCH_VERSION
#define TROUPE_FINGERPRINT_TORCH ";torch=" TROUPE_PLUGIN_TORCH_VERSION
#else
#define TROUPE_FINGERPRINT_TORCH ""
#endif

/// "api=2;compiler=gcc-12;cxx11abi=1[;torch=1.13.0]" as a string literal. Host and plugin must agree
/// on compiler and C++ ABI, since C++ objects (std::string, std::vector, vtables) cross the boundary;
/// a plugin that names LibTorch must name the one the host's build uses (one LibTorch per process).
/// A macro, not an inline function, so that every translation unit of a plugin sees its own target's
/// definition (see TROUPE_PLUGIN_DEFINE).
#define TROUPE_BUILD_FINGERPRINT                                                                       \
    "api=" TROUPE_STRINGIFY(TROUPE_PLUGIN_API_VERSION) ";compiler=" TROUPE_COMPILER_ID                \
    ";cxx11abi=" TROUPE_CXX11_ABI TROUPE_FINGERPRINT_TORCH
