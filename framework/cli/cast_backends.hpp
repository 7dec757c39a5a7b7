// The backends a cast speaks through, loaded once and shared: one text backend object per plugin and
// parameter set (adapters are chosen per request), one speech backend per plugin and parameters, each
// with its own BackendQueue. Used by `troupe scene` and by `troupe serve`.
#pragma once

#include "backend_queue.hpp"

#include <troupe/host.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace troupe::cli {

class CastBackends {
public:
    /// `queue_capacity` bounds each backend's queue for BackendQueue::try_enter (0 = no bound).
    CastBackends(const Host& host, size_t queue_capacity = 0);

    struct Text {
        std::string key;                       // plugin + parameters
        std::shared_ptr<TextBackend> backend;
        std::unique_ptr<BackendQueue> queue;
    };
    struct Speech {
        std::string key;
        std::shared_ptr<SpeechBackend> backend;
        std::unique_ptr<BackendQueue> queue;
    };

    /// The character's text backend (created on first use) with its adapter loaded. Throws Error.
    Text& text(const Character& c);
    /// The character's speech backend (created on first use). Throws Error.
    Speech& speech(const Character& c);
    /// A speech backend of `plugin` with `params` over its defaults (GPT-SoVITS weights, say).
    Speech& speech(const std::string& plugin, const Params& params);

    /// Loads every character's backends now (the server does this at start). Throws Error.
    void load_all();
    /// describe() of each loaded backend, by kind ("text", "speech").
    std::map<std::string, std::vector<std::string>> describe() const;
    /// All queues with their keys (for /health).
    std::vector<std::pair<std::string, const BackendQueue*>> queues() const;

private:
    const Host& host_;
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::map<std::string, Text> text_;
    std::map<std::string, Speech> speech_;
    std::map<std::string, std::string> adapters_;  // character id -> text key it was loaded into
};

}  // namespace troupe::cli
