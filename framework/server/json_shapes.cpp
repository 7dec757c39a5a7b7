#include "json_shapes.hpp"


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

nlohmann::json json_body(const httplib::Request& req) { return parse_json_body(req.body); }

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
