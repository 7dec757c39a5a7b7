// Internal: JSON request fields and error answers. /v1 routes answer errors in OpenAI's shape
// {"error":{"message","type","param","code"}}; api_v2 routes in GPT-SoVITS' {"message","Exception"}.
#pragma once

#include "requests.hpp"

#include <troupe/status.hpp>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

namespace troupe::server {

/// The HTTP status for a host error code (not_found 404, bad input 400, cancelled 503, else 500).
int http_status(Errc code);

void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
void send_openai_error(httplib::Response& res, int status, const std::string& message, const std::string& param,
                       const std::string& code = {});

/// The request body as a JSON object (parse_json_body); HttpError(400, "body") when it is not one.
nlohmann::json json_body(const httplib::Request& req);

using Route = std::function<void(const httplib::Request&, httplib::Response&)>;
/// Runs `route`, answering HttpError and troupe::Error (and anything else) in OpenAI's error shape.
httplib::Server::Handler openai_route(Route route);
/// Runs `route`, answering errors in api_v2's shape ({"message": …, "Exception": …}).
httplib::Server::Handler api_v2_route(Route route);

}  // namespace troupe::server
