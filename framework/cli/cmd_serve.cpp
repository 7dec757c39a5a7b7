// troupe serve [--host 127.0.0.1] [--port 9880] [--api-key KEY] [--threads N]: the cast over HTTP
// (framework/server; routes in docs/server.md).
#include "command.hpp"

#include "server.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>

namespace troupe::cli {
namespace po = boost::program_options;

int cmd_serve(const std::vector<std::string>& args, const GlobalOptions& global) {
    po::options_description options("troupe serve options");
    server::ServerOptions o;
    if (const char* key = std::getenv("TROUPE_API_KEY")) o.api_key = key;
    std::string port_file;
    options.add_options()("host", po::value(&o.host)->default_value(o.host), "address to bind (loopback by default)")(
        "port", po::value(&o.port)->default_value(o.port), "port (0: an ephemeral one)")(
        "api-key", po::value(&o.api_key), "require Authorization: Bearer KEY on every route but /health "
                                          "(default: $TROUPE_API_KEY)")(
        "threads", po::value(&o.threads)->default_value(o.threads), "HTTP worker threads")(
        "data-dir", po::value(&o.data_dir)->default_value(o.data_dir), "scene jobs are kept under DIR/jobs")(
        "eval-dir", po::value(&o.eval_dirs)->composing(), "folder of eval runs to serve (repeatable; "
                                                          "default: DATA/eval and out/demo/eval)")(
        "allow-dir", po::value(&o.allow_dirs)->composing(), "directory /tts may read reference audio and weights "
                                                            "from (besides [characters] allow_dirs)")(
        "studio-dir", po::value(&o.studio_dir), "static files of the studio page (default: web/studio)")(
        "max-body", po::value(&o.max_body_bytes)->default_value(o.max_body_bytes), "largest request body, bytes")(
        "max-text", po::value(&o.max_text_chars)->default_value(o.max_text_chars), "longest input text, characters")(
        "max-jobs", po::value(&o.max_jobs)->default_value(o.max_jobs), "scene jobs waiting or running at once")(
        "queue", po::value(&o.queue_capacity)->default_value(o.queue_capacity),
        "requests admitted per backend (waiting or running); more get 503")(
        "port-file", po::value(&port_file), "write the bound port to FILE once listening (for --port 0)");
    po::variables_map vm;
    if (!parse_options("troupe serve [--host 127.0.0.1] [--port 9880] [--api-key KEY] [--threads N]", options, args,
                       vm))
        return 0;
    if (o.port < 0 || o.port > 65535) throw Error(Errc::invalid_argument, "--port must lie in [0, 65535]");
    if (o.threads < 1 || o.threads > 256) throw Error(Errc::invalid_argument, "--threads must lie in [1, 256]");
    if (o.queue_capacity < 1) throw Error(Errc::invalid_argument, "--queue must be at least 1");

    Host host(global.host);
    return server::run_server(host, o, [&](int port) {
        if (!port_file.empty()) {
            FILE* f = std::fopen((port_file + ".tmp").c_str(), "w");
            if (f) {
                std::fprintf(f, "%d\n", port);
                std::fclose(f);
                std::rename((port_file + ".tmp").c_str(), port_file.c_str());
            }
        }
        if (!global.quiet) {
            fmt::print("troupe serve: http://{}:{}/ ({} characters){}\n", o.host, port, host.characters().size(),
                       o.api_key.empty() ? "" : ", API key required");
            std::fflush(stdout);
        }
    });
}

}  // namespace troupe::cli
