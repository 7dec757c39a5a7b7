// troupe/plugin.hpp — the plugin contract between the Troupe host and its plugins.
//
// A plugin is a shared library (built as a CMake MODULE) with a `plugin.toml` manifest beside it.
// The host reads the manifest, opens the library with RTLD_NOW, and then calls, in this order:
//
//   1. troupe_plugin_api_version()        TROUPE_PLUGIN_API_VERSION_MIN .. TROUPE_PLUGIN_API_VERSION
//   2. troupe_plugin_build_fingerprint()  compiler and C++ ABI equal to the host's; a LibTorch version,
//                                         if named, equal to the one the host's build uses
//   3. troupe_plugin_init(host, &status)  returns the plugin's Module (a singleton owned by the plugin)
//
// Version 2 adds one optional entry point, troupe_plugin_run_command (troupe/plugin_command.h), through
// which a plugin serves the commands its plugin.toml declares ([[commands]]).
//
// Only after these checks pass does any C++ object cross the boundary. Every virtual function of the
// contract is `noexcept`: exceptions never cross it; failures come back as a troupe::Status.
// Libraries are never unloaded, so objects a plugin creates may live until the process exits.
//
// Use TROUPE_PLUGIN_DEFINE(ModuleClass) in exactly one source file of a plugin to export the three
// entry points (see docs/howto-add-backend.md), and TROUPE_PLUGIN_COMMANDS(table) from the plugin kit
// (troupe/kit/command.hpp) for commands. What plugins may use beyond this contract is the plugin kit
// (troupe/kit/*.hpp, docs/plugin-contract.md); never the host's framework/src or framework/cli.
#pragma once

#include <troupe/plugin_command.h>
#include <troupe/status.hpp>
#include <troupe/types.hpp>
#include <troupe/version.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#if defined(_WIN32)
#define TROUPE_PLUGIN_EXPORT extern "C" __declspec(dllexport)
#else
#define TROUPE_PLUGIN_EXPORT extern "C" __attribute__((visibility("default")))
#endif
#define TROUPE_VISIBLE __attribute__((visibility("default")))

namespace troupe {

/// What a plugin provides. Matches `kind` in plugin.toml.
enum class PluginKind { text_backend, speech_backend, transcriber, speaker_encoder, quality_estimator, character };

inline const char* to_string(PluginKind kind) noexcept {
    switch (kind) {
        case PluginKind::text_backend: return "text-backend";
        case PluginKind::speech_backend: return "speech-backend";
        case PluginKind::transcriber: return "transcriber";
        case PluginKind::speaker_encoder: return "speaker-encoder";
        case PluginKind::quality_estimator: return "quality-estimator";
        case PluginKind::character: return "character";
    }
    return "unknown";
}
inline bool parse_plugin_kind(const std::string& text, PluginKind& out) noexcept {
    for (PluginKind k : {PluginKind::text_backend, PluginKind::speech_backend, PluginKind::transcriber,
                         PluginKind::speaker_encoder, PluginKind::quality_estimator, PluginKind::character})
        if (text == to_string(k)) { out = k; return true; }
    return false;
}

/// Log levels of the host's log callback (the values of enum troupe_log_level).
enum class LogLevel { debug = TROUPE_LOG_DEBUG, info = TROUPE_LOG_INFO, warn = TROUPE_LOG_WARN, error = TROUPE_LOG_ERROR };

/// Services the host hands a plugin at init. Plugins log only through `log`.
struct HostServices {
    uint32_t api_version = TROUPE_PLUGIN_API_VERSION;
    void (*log)(void* user, LogLevel level, const char* plugin, const char* message) = nullptr;
    void* log_user = nullptr;
    /// Set to true by the host (e.g. on Ctrl-C); long-running calls should return Status::cancelled.
    const volatile bool* cancel_requested = nullptr;
};

/// Every object a plugin creates. The host never deletes it while its library could be gone
/// (libraries are never unloaded).
class TROUPE_VISIBLE Object {
public:
    virtual ~Object() = default;
    virtual PluginKind kind() const noexcept = 0;
    /// Version string of the loaded model/adapter/voice, recorded in manifests and reports.
    virtual std::string describe() const noexcept { return {}; }
};

// ---- text backends ---------------------------------------------------------------------------

/// Called for each decoded piece of text as it is generated (always whole UTF-8 characters).
/// Return false to stop generation (stop reason `cancelled`).
using TokenSink = bool (*)(void* user, const std::string& piece);

class TROUPE_VISIBLE TextBackend : public Object {
public:
    PluginKind kind() const noexcept override { return PluginKind::text_backend; }
    /// Registers a LoRA adapter (a PEFT folder) under `name` for later requests; loading the same
    /// name twice is a no-op.
    virtual Status load_adapter(const std::string& name, const std::string& dir) noexcept = 0;
    /// Generates a continuation of `request.prompt`. `sink` may be null.
    virtual Status generate(const TextRequest& request, TextResult& result, TokenSink sink,
                            void* sink_user) noexcept = 0;
};

/// Optional, additive to contract v2 (TextBackend's layout is unchanged, so v1/v2 plugins still
/// load and work): a text backend may also derive from BatchTextBackend to decode several
/// independent requests as one batch (each with its own adapter, sampling and stops; rows finish
/// independently). Callers use troupe::generate_batch() below, never this class directly.
class TROUPE_VISIBLE BatchTextBackend {
public:
    virtual ~BatchTextBackend() = default;
    /// Fills `results` (resized to requests.size()) as generate() would for each request, no sink.
    virtual Status generate_batch(const std::vector<TextRequest>& requests, std::vector<TextResult>& results) noexcept = 0;
};

/// Runs `requests` as one batch when `backend` implements BatchTextBackend, else one generate()
/// call per request (stopping at the first error, which is returned).
inline Status generate_batch(TextBackend& backend, const std::vector<TextRequest>& requests,
                             std::vector<TextResult>& results) noexcept {
    if (auto* batched = dynamic_cast<BatchTextBackend*>(&backend)) return batched->generate_batch(requests, results);
    try {
        results.assign(requests.size(), TextResult{});
    } catch (...) {
        return Status::error(Errc::runtime, "generate_batch: out of memory");
    }
    for (size_t i = 0; i < requests.size(); ++i) {
        Status s = backend.generate(requests[i], results[i], nullptr, nullptr);
        if (!s.ok()) return s;
    }
    return Status();
}

// ---- speech backends -------------------------------------------------------------------------

class TROUPE_VISIBLE SpeechBackend : public Object {
public:
    PluginKind kind() const noexcept override { return PluginKind::speech_backend; }
    virtual Status synthesize(const SpeechRequest& request, Audio& out) noexcept = 0;
};

/// Called with each piece of synthesised audio as soon as it is final: mono samples in [-1, 1] at
/// `sample_rate`, in order, `count` >= 1. The pointer is valid during the call only. Return false
/// to stop the synthesis (the call then returns Errc::cancelled).
using AudioSink = bool (*)(void* user, int sample_rate, const float* samples, size_t count);

/// Optional, additive to contract v2 (SpeechBackend's layout is unchanged, so v1/v2 plugins still
/// load and work): a speech backend may also derive from StreamingSpeechBackend to hand out audio
/// while it is still synthesising (e.g. a vocoder decoding chunks while the acoustic model runs).
/// Callers use troupe::synthesize_stream() below, never this class directly.
class TROUPE_VISIBLE StreamingSpeechBackend {
public:
    virtual ~StreamingSpeechBackend() = default;
    /// As synthesize(), and every piece is also passed to `sink` (may be null) as soon as it is
    /// final; `out` receives the whole audio (the pieces concatenated).
    virtual Status synthesize_stream(const SpeechRequest& request, Audio& out, AudioSink sink,
                                     void* sink_user) noexcept = 0;
};

/// Streams through the backend's StreamingSpeechBackend when it has one, else synthesize() and
/// then the whole audio as one piece (every v1/v2 plugin).
inline Status synthesize_stream(SpeechBackend& backend, const SpeechRequest& request, Audio& out, AudioSink sink,
                                void* sink_user) noexcept {
    if (auto* streaming = dynamic_cast<StreamingSpeechBackend*>(&backend))
        return streaming->synthesize_stream(request, out, sink, sink_user);
    Status s = backend.synthesize(request, out);
    if (!s.ok()) return s;
    if (sink && !out.samples.empty() && !sink(sink_user, out.sample_rate, out.samples.data(), out.samples.size()))
        return Status::error(Errc::cancelled, "synthesis stopped by the receiver");
    return Status();
}

// ---- scorers ---------------------------------------------------------------------------------

class TROUPE_VISIBLE Transcriber : public Object {
public:
    PluginKind kind() const noexcept override { return PluginKind::transcriber; }
    virtual Status transcribe(const Audio& audio, std::string& text) noexcept = 0;
};

class TROUPE_VISIBLE SpeakerEncoder : public Object {
public:
    PluginKind kind() const noexcept override { return PluginKind::speaker_encoder; }
    /// A fixed-size speaker embedding; compared by cosine similarity.
    virtual Status embed(const Audio& audio, std::vector<float>& embedding) noexcept = 0;
};

class TROUPE_VISIBLE QualityEstimator : public Object {
public:
    PluginKind kind() const noexcept override { return PluginKind::quality_estimator; }
    virtual Status estimate(const Audio& audio, QualityEstimate& out) noexcept = 0;
};

// ---- character hooks -------------------------------------------------------------------------

/// Optional code for a character whose data (character.toml) is not enough.
class TROUPE_VISIBLE CharacterHooks : public Object {
public:
    PluginKind kind() const noexcept override { return PluginKind::character; }
    /// May rewrite the prompt before generation.
    virtual Status before_generate(TextRequest& request) noexcept { (void)request; return {}; }
    /// May rewrite a generated line before it is spoken.
    virtual Status after_generate(std::string& line) noexcept { (void)line; return {}; }
};

// ---- the module ------------------------------------------------------------------------------

/// The one object each plugin library exports. It creates the plugin's objects from parameters
/// (flattened from plugin.toml's [defaults], troupe.toml and the character's settings).
class TROUPE_VISIBLE Module {
public:
    virtual ~Module() = default;
    virtual PluginKind kind() const noexcept = 0;
    /// Creates one object (a loaded model, a voice engine, a scorer...). On failure `out` stays
    /// empty and the status says why.
    virtual Status create(const Params& params, std::shared_ptr<Object>& out) noexcept = 0;
};

}  // namespace troupe

// Entry points. Their names and signatures never change; TROUPE_PLUGIN_API_VERSION guards the rest.
using troupe_plugin_api_version_fn = uint32_t();
using troupe_plugin_build_fingerprint_fn = const char*();
using troupe_plugin_init_fn = troupe::Module*(const troupe::HostServices* host, troupe::Status* status);

/// Exports the three entry points for a plugin whose Module subclass is default-constructible.
/// Construction runs inside init, so an exception from the constructor becomes an init error.
#define TROUPE_PLUGIN_DEFINE(ModuleClass)                                                              \
    TROUPE_PLUGIN_EXPORT uint32_t troupe_plugin_api_version() { return TROUPE_PLUGIN_API_VERSION; }   \
    TROUPE_PLUGIN_EXPORT const char* troupe_plugin_build_fingerprint() {                              \
        return TROUPE_BUILD_FINGERPRINT;                                                               \
    }                                                                                                  \
    TROUPE_PLUGIN_EXPORT troupe::Module* troupe_plugin_init(const troupe::HostServices* host,         \
                                                            troupe::Status* status) {                  \
        try {                                                                                          \
            ::troupe::plugin_host() = host ? *host : ::troupe::HostServices{};                         \
            static ModuleClass module;                                                                 \
            return &module;                                                                            \
        } catch (const std::exception& e) {                                                            \
            if (status) *status = ::troupe::Status::error(::troupe::Errc::init_failed, e.what());      \
        } catch (...) {                                                                                \
            if (status) *status = ::troupe::Status::error(::troupe::Errc::init_failed, "unknown exception"); \
        }                                                                                              \
        return nullptr;                                                                                \
    }

namespace troupe {
/// The host services this plugin was initialised with (plugin side). Header-only, one per library.
inline HostServices& plugin_host() {
    static HostServices services;
    return services;
}
/// Logs through the host (plugin side).
inline void plugin_log(LogLevel level, const char* plugin, const std::string& message) {
    const HostServices& h = plugin_host();
    if (h.log) h.log(h.log_user, level, plugin, message.c_str());
}
inline bool plugin_cancel_requested() {
    const HostServices& h = plugin_host();
    return h.cancel_requested && *h.cancel_requested;
}
}  // namespace troupe
