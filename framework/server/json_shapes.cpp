#include "json_shapes.hpp"

#include <troupe/text.hpp>

#include <cmath>

namespace troupe::server {

int http_status(Errc code) {
    switch (code) {
        case Errc::not_found: return 404;
        case Errc::invalid_argument:
        case Errc::invalid_file:
        case Errc::unsupported: return 400;
        case Errc::cancelled: return 503;
        default: return 500;
    }
}

void send_json(httplib::Response& res, const nlohmann::json& body, int status) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void send_openai_error(httplib::Response& res, int status, const std::string& message, const std::string& param,
                       const std::string& code) {
    const char* type = status == 401 ? "authentication_error"
                       : status >= 500 ? "server_error"
                       : status == 404 ? "not_found_error"
                                       : "invalid_request_error";
    nlohmann::json error = {{"message", message}, {"type", type},
                            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                            {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}};
    send_json(res, {{"error", error}}, status);
}

nlohmann::json json_body(const httplib::Request& req) {
    nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_discarded()) throw HttpError(400, "body", "the request body is not valid JSON");
    if (!body.is_object()) throw HttpError(400, "body", "the request body must be a JSON object");
    return body;
}

std::string string_field(const nlohmann::json& body, const std::string& name, bool required,
                         const std::string& fallback) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) {
        if (required) throw HttpError(400, name, "'" + name + "' is required");
        return fallback;
    }
    if (!it->is_string()) throw HttpError(400, name, "'" + name + "' must be a string");
    return it->get<std::string>();
}

double number_field(const nlohmann::json& body, const std::string& name, double fallback, double min, double max) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_number()) throw HttpError(400, name, "'" + name + "' must be a number");
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < min || v > max)
        throw HttpError(400, name, "'" + name + "' must lie in [" + nlohmann::json(min).dump() + ", " +
                                       nlohmann::json(max).dump() + "]");
    return v;
}

int64_t integer_field(const nlohmann::json& body, const std::string& name, int64_t fallback, int64_t min,
                      int64_t max) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) throw HttpError(400, name, "'" + name + "' must be an integer");
    const int64_t v = it->get<int64_t>();
    if (v < min || v > max)
        throw HttpError(400, name, "'" + name + "' must lie in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return v;
}

bool bool_field(const nlohmann::json& body, const std::string& name, bool fallback) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw HttpError(400, name, "'" + name + "' must be true or false");
    return it->get<bool>();
}

void check_text_field(const std::string& text, const std::string& name, size_t max_chars) {
    try {
        check_user_text(text, "'" + name + "'", max_chars);
    } catch (const Error& e) {
        throw HttpError(400, name, e.what());
    }
}

httplib::Server::Handler openai_route(Route route) {
    return [route](const httplib::Request& req, httplib::Response& res) {
        try {
            route(req, res);
        } catch (const HttpError& e) {
            send_openai_error(res, e.status, e.message, e.param, e.code);
        } catch (const Error& e) {
            send_openai_error(res, http_status(e.code()), e.what(), {});
        } catch (const std::exception& e) {
            send_openai_error(res, 500, e.what(), {});
        }
    };
}

httplib::Server::Handler api_v2_route(Route route) {
    return [route](const httplib::Request& req, httplib::Response& res) {
        try {
            route(req, res);
        } catch (const HttpError& e) {
            nlohmann::json body = {{"message", e.message}};
            if (!e.code.empty()) body["Exception"] = e.code;
            send_json(res, body, e.status);
        } catch (const std::exception& e) {
            send_json(res, {{"message", "tts failed"}, {"Exception", e.what()}}, 400);
        }
    };
}

}  // namespace troupe::server
