#include "cast_backends.hpp"

#include <nlohmann/json.hpp>

namespace troupe::cli {

CastBackends::CastBackends(const Host& host, size_t queue_capacity) : host_(host), capacity_(queue_capacity) {}

CastBackends::Text& CastBackends::text(const Character& c) {
    const std::string key = c.text_backend + nlohmann::json(c.text_params).dump();
    Text* entry = nullptr;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& t = text_[key];
        if (!t.backend) {
            t.key = key;
            t.backend = host_.create_as<TextBackend>(c.text_backend, PluginKind::text_backend, c.text_params);
            t.queue = std::make_unique<BackendQueue>(capacity_);
        }
        entry = &t;
        if (c.adapter.empty() || adapters_.count(c.id)) return t;
    }
    // Loading an adapter changes the backend: do it in the backend's turn.
    auto ticket = entry->queue->enter();
    ticket->wait_turn();
    std::lock_guard<std::mutex> lock(mutex_);
    if (!adapters_.count(c.id)) {
        Status s = entry->backend->load_adapter(c.id, c.adapter);
        if (!s) throw Error(s.code(), c.manifest_path + ": adapter: " + s.message());
        adapters_[c.id] = key;
    }
    return *entry;
}

CastBackends::Speech& CastBackends::speech(const Character& c) { return speech(c.speech_backend, {}); }

CastBackends::Speech& CastBackends::speech(const std::string& plugin, const Params& params) {
    const std::string key = plugin + nlohmann::json(params).dump();
    std::lock_guard<std::mutex> lock(mutex_);
    auto& s = speech_[key];
    if (!s.backend) {
        s.key = key;
        s.backend = host_.create_as<SpeechBackend>(plugin, PluginKind::speech_backend, params);
        s.queue = std::make_unique<BackendQueue>(capacity_);
    }
    return s;
}

void CastBackends::load_all() {
    for (const auto& c : host_.characters()) {
        text(c);
        speech(c);
    }
}

std::map<std::string, std::vector<std::string>> CastBackends::describe() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, std::vector<std::string>> out;
    for (auto& [key, t] : text_) out["text"].push_back(t.backend->describe());
    for (auto& [key, s] : speech_) out["speech"].push_back(s.backend->describe());
    return out;
}

std::vector<std::pair<std::string, const BackendQueue*>> CastBackends::queues() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::pair<std::string, const BackendQueue*>> out;
    for (auto& [key, t] : text_) out.emplace_back(key, t.queue.get());
    for (auto& [key, s] : speech_) out.emplace_back(key, s.queue.get());
    return out;
}

}  // namespace troupe::cli
