// GET /health and GET /v1/models (the cast in OpenAI's list format, plus the loaded plugins).
#include "app.hpp"
#include "json_shapes.hpp"

namespace troupe::server {

namespace {

nlohmann::json character_model(const Character& c) {
    return {{"id", c.id}, {"object", "model"}, {"created", 0}, {"owned_by", "troupe"},
            {"name", c.name}, {"description", c.description}, {"speech_level", to_string(c.speech_level)},
            {"text_backend", c.text_backend}, {"adapter", !c.adapter.empty()},
            {"speech_backend", c.speech_backend}, {"voice", c.voice.params},
            {"emotions", [&] {
                 std::vector<std::string> names;
                 for (const auto& e : c.emotions) names.push_back(e.emotion);
                 return names;
             }()}};
}

nlohmann::json loaded_plugins(const Host& host) {
    nlohmann::json plugins = nlohmann::json::array();
    for (const auto& p : host.plugins())
        if (p.ok)
            plugins.push_back({{"name", p.manifest.name}, {"kind", to_string(p.manifest.kind)},
                               {"version", p.manifest.version}, {"description", p.manifest.description}});
    return plugins;
}

}  // namespace

void add_basic_routes(httplib::Server& http, App& app) {
    http.Get("/health", openai_route([&app](const httplib::Request&, httplib::Response& res) {
        nlohmann::json queues = nlohmann::json::array();
        for (auto& [key, queue] : app.backends.queues())
            queues.push_back({{"backend", key}, {"depth", queue->depth()}, {"capacity", queue->capacity()}});
        send_json(res, {{"status", app.stopping ? "stopping" : "ok"},
                        {"characters", app.host.characters().size()},
                        {"plugins", loaded_plugins(app.host).size()},
                        {"queues", queues},
                        {"generations", {{"completed", app.completed.load()}, {"cancelled", app.cancelled.load()}}},
                        {"jobs", app.jobs->counts()}});
    }));
    http.Get("/v1/models", openai_route([&app](const httplib::Request&, httplib::Response& res) {
        nlohmann::json data = nlohmann::json::array();
        for (const auto& c : app.host.characters()) data.push_back(character_model(c));
        send_json(res, {{"object", "list"}, {"data", data}, {"plugins", loaded_plugins(app.host)}});
    }));
    http.Get(R"(/v1/models/([^/]+))", openai_route([&app](const httplib::Request& req, httplib::Response& res) {
        const std::string id = req.matches[1];
        for (const auto& c : app.host.characters())
            if (c.id == id || c.name == id) return send_json(res, character_model(c));
        throw HttpError(404, "model", "no character '" + id + "'", "model_not_found");
    }));
}

}  // namespace troupe::server

namespace troupe::server {

const Character& find_character(const App& app, const std::string& name, const std::string& param) {
    std::string known;
    for (const auto& c : app.host.characters()) {
        if (c.id == name || c.name == name) return c;
        known += (known.empty() ? "" : ", ") + c.id;
    }
    throw HttpError(404, param, "no character '" + name + "' (known: " + known + ")", "model_not_found");
}

}  // namespace troupe::server
