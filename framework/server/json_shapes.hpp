// Internal: JSON request fields and error answers. /v1 routes answer errors in OpenAI's shape
// {"error":{"message","type","param","code"}}; api_v2 routes in GPT-SoVITS' {"message","Exception"}.
#pragma once

#include <troupe/status.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace troupe::server {

/// A bad request, thrown by field readers and routes: HTTP status, the field it concerns, message.
struct HttpError : std::exception {
    HttpError(int s, std::string p, std::string m, std::string c = {})
        : status(s), param(std::move(p)), message(std::move(m)), code(std::move(c)) {}
    const char* what() const noexcept override { return message.c_str(); }
    int status;
    std::string param, message, code;
};

/// The HTTP status for a host error code (not_found 404, bad input 400, cancelled 503, else 500).
int http_status(Errc code);

void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void send_openai_error(httplib::Response& res, int status, const std::string& message, const std::string& param,
                       const std::string& code = {});

/// The request body as a JSON object; HttpError(400, "body") when it is not one.
nlohmann::json json_body(const httplib::Request& req);

/// Field readers: absent → `fallback`; wrong type or out of range → HttpError(400, name).
std::string string_field(const nlohmann::json& body, const std::string& name, bool required,
                         const std::string& fallback = {});
double number_field(const nlohmann::json& body, const std::string& name, double fallback, double min, double max);
int64_t integer_field(const nlohmann::json& body, const std::string& name, int64_t fallback, int64_t min, int64_t max);
bool bool_field(const nlohmann::json& body, const std::string& name, bool fallback);

/// Checks user text (not empty, valid UTF-8, at most `max_chars`); HttpError(400, name) otherwise.
void check_text_field(const std::string& text, const std::string& name, size_t max_chars);

using Route = std::function<void(const httplib::Request&, httplib::Response&)>;
/// Runs `route`, answering HttpError and troupe::Error (and anything else) in OpenAI's error shape.
httplib::Server::Handler openai_route(Route route);
/// Runs `route`, answering errors in api_v2's shape ({"message": …, "Exception": …}).
httplib::Server::Handler api_v2_route(Route route);

}  // namespace troupe::server
