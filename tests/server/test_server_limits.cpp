// troupe serve under pressure: the API key, a full queue's 503, a client that disconnects, many
// clients at once (bounded: 32 clients x 4 requests on loopback), and SIGTERM with a scene running.
#define BOOST_TEST_MODULE server_limits
#include "server_process.hpp"

#include <atomic>
#include <mutex>

using troupe::test::body_json;
using troupe::test::check_openai_error;
using troupe::test::post_json;
using troupe::test::ServerProcess;
using troupe::test::sse_events;
using nlohmann::json;
namespace fs = boost::filesystem;

namespace {

json chat(const std::string& model, bool stream, int max_tokens) {
    return {{"model", model}, {"stream", stream}, {"max_tokens", max_tokens},
            {"messages", {{{"role", "user"}, {"content", "오늘 저녁 회식 장소를 정해야 한다"}}}}};
}

/// Starts a streaming chat and returns once its first chunk arrived (the request holds its
/// backend's turn), then keeps reading on a thread until the answer ends or `abort` is set.
struct HeldStream {
    explicit HeldStream(const ServerProcess& server, const json& body, const httplib::Headers& headers = {}) {
        reader = std::thread([this, &server, body, headers] {
            auto c = server.client();
            httplib::Request req;
            req.method = "POST";
            req.path = "/v1/chat/completions";
            req.headers = headers;
            req.body = body.dump();
            req.set_header("Content-Type", "application/json");
            req.content_receiver = [this](const char* data, size_t n, uint64_t, uint64_t) {
                std::lock_guard<std::mutex> lock(mutex);
                received.append(data, n);
                started = true;
                return !abort;
            };
            httplib::Response res;
            httplib::Error error;
            c.send(req, res, error);
            finished = true;
        });
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (!started && !finished && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ~HeldStream() { reader.join(); }
    std::string body() {
        std::lock_guard<std::mutex> lock(mutex);
        return received;
    }
    std::thread reader;
    std::mutex mutex;
    std::string received;
    std::atomic<bool> started{false}, finished{false}, abort{false};
};

}  // namespace

BOOST_AUTO_TEST_CASE(api_key_guards_every_route_but_health_and_a_full_queue_answers_503) {
    const fs::path dir = troupe::test::test_dir("server-key");
    ServerProcess server({"--api-key", "sekret-key", "--queue", "1", "--data-dir", (dir / "data").string()}, dir);
    auto c = server.client();
    BOOST_TEST(c.Get("/health")->status == 200);
    BOOST_TEST(c.Get("/")->status == 200);  // the studio's static files carry no data
    check_openai_error(c.Get("/v1/models"), 401, "Authorization");
    BOOST_TEST(body_json(c.Get("/v1/models"))["error"]["type"] == "authentication_error");
    check_openai_error(c.Get("/v1/models", {{"Authorization", "Bearer wrong-key!"}}), 401, "Authorization");
    check_openai_error(post_json(c, "/v1/chat/completions", chat("bujang", false, 4)), 401, "Authorization");
    auto tts = c.Get("/tts?text=a&text_lang=ko");
    BOOST_TEST(tts->status == 401);
    BOOST_TEST(body_json(tts).contains("message"));
    BOOST_TEST(c.Get("/v1/eval/reports")->status == 401);
    BOOST_TEST(c.Post("/v1/scenes", "title = \"x\"", "application/toml")->status == 401);
    const httplib::Headers key = {{"Authorization", "Bearer sekret-key"}};
    BOOST_TEST(c.Get("/v1/models", key)->status == 200);

    // --queue 1: while one generation holds the text backend, the next request is turned away.
    HeldStream held(server, chat("bujang", true, 200), key);
    BOOST_REQUIRE(held.started);
    auto busy = post_json(c, "/v1/chat/completions", chat("sinip", false, 4), key);
    if (!held.finished) {
        check_openai_error(busy, 503, "");
        BOOST_TEST(busy->get_header_value("Retry-After") == "1");
        BOOST_TEST(body_json(busy)["error"]["code"] == "queue_full");
    }
    held.reader.join();
    held.reader = std::thread([] {});
    BOOST_TEST(held.body().find("data: [DONE]") != std::string::npos);
    BOOST_TEST(post_json(c, "/v1/chat/completions", chat("sinip", false, 4), key)->status == 200);
    BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_client_that_disconnects_cancels_its_generation) {
    const fs::path dir = troupe::test::test_dir("server-cancel");
    ServerProcess server({"--data-dir", (dir / "data").string()}, dir);
    auto c = server.client();
    {
        HeldStream held(server, chat("bujang", true, 400));
        BOOST_REQUIRE(held.started);
        held.abort = true;  // the next chunk ends the connection
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    json generations;
    do {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        generations = body_json(c.Get("/health"))["generations"];
    } while (generations["cancelled"] == 0 && generations["completed"] == 0 && std::chrono::steady_clock::now() < deadline);
    BOOST_TEST(generations["cancelled"] == 1, generations.dump());
    BOOST_TEST(generations["completed"] == 0, generations.dump());
    // The backend is free again.
    BOOST_TEST(post_json(c, "/v1/chat/completions", chat("bujang", false, 4))->status == 200);
    BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(many_clients_at_once_are_all_answered) {
    const fs::path dir = troupe::test::test_dir("server-load");
    ServerProcess server({"--data-dir", (dir / "data").string(), "--threads", "16", "--queue", "8"}, dir);
    constexpr int kClients = 32, kRequests = 4;
    std::atomic<int> ok{0}, busy{0};
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    auto fail = [&](const std::string& what) {
        std::lock_guard<std::mutex> lock(failures_mutex);
        failures.push_back(what);
    };
    // A scene job runs alongside the clients; it must not be lost.
    auto c0 = server.client();
    json job = body_json(c0.Post("/v1/scenes", "title = \"부하\"\ncast = [\"daeri\"]\n[[beats]]\nspeaker = \"daeri\"\nline = \"네, 바로 확인하겠습니다.\"\n", "application/toml"));
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i)
        clients.emplace_back([&, i] {
            auto c = server.client();
            const std::string who[] = {"bujang", "sinip", "daeri", "timjang", "client"};
            for (int k = 0; k < kRequests; ++k) {
                const int kind = (i + k) % 4;
                // A 503 is a right answer too: the client waits Retry-After and asks again (up to 4 min).
                const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(4);
                for (;;) {
                    if (std::chrono::steady_clock::now() > give_up) { fail("still busy after 4 minutes"); break; }
                    httplib::Result r = kind == 0   ? post_json(c, "/v1/chat/completions", chat(who[i % 5], false, 4))
                                        : kind == 1 ? post_json(c, "/v1/chat/completions", chat(who[i % 5], true, 4))
                                        : kind == 2 ? post_json(c, "/v1/audio/speech", {{"model", who[i % 5]}, {"input", "네, 알겠습니다."}})
                                                    : c.Get("/v1/models");
                    if (!r) {
                        fail("kind " + std::to_string(kind) + ": no answer: " + httplib::to_string(r.error()) + " after " +
                             std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()) + " s of the run");
                        break;
                    }
                    if (r->status == 503 && r->has_header("Retry-After")) {
                        ++busy;
                        const int wait_ms = 1000 * std::stoi(r->get_header_value("Retry-After"));
                        std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms + 37 * (i % 7)));
                        continue;
                    }
                    bool right = r->status == 200;
                    if (kind == 0) right = right && !body_json(r)["choices"][0]["message"]["content"].get<std::string>().empty();
                    if (kind == 1) right = right && r->body.find("data: [DONE]") != std::string::npos;
                    if (kind == 2) right = right && r->body.compare(0, 4, "RIFF") == 0;
                    if (kind == 3) right = right && body_json(r)["data"].size() == 5u;
                    if (right) ++ok;
                    else fail("kind " + std::to_string(kind) + ": " + std::to_string(r->status) + " " + r->body.substr(0, 200));
                    break;
                }
            }
        });
    for (auto& t : clients) t.join();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST_MESSAGE("32 clients x 4 requests: " << seconds << " s, " << busy << " answers 503 (retried)");
    for (const auto& f : failures) BOOST_TEST_MESSAGE("failed: " << f);
    BOOST_TEST(failures.empty(), (failures.empty() ? "" : failures.front()));
    BOOST_TEST(ok == kClients * kRequests);
    auto events = c0.Get(job["events"].get<std::string>().c_str());
    BOOST_TEST(sse_events(events->body).back().first == "done");
    BOOST_TEST(body_json(c0.Get("/health"))["status"] == "ok");
    BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(sigterm_stops_a_running_scene_and_jobs_survive_a_restart) {
    const fs::path dir = troupe::test::test_dir("server-term");
    const std::vector<std::string> args = {"--data-dir", (dir / "data").string()};
    std::string done_id, running_id;
    {
        ServerProcess server(args, dir);
        auto c = server.client();
        json done = body_json(c.Post("/v1/scenes", "title = \"끝난 장면\"\ncast = [\"bujang\"]\n[[beats]]\nspeaker = \"bujang\"\nline = \"자자.\"\n", "application/toml"));
        done_id = done["id"];
        c.Get(done["events"].get<std::string>().c_str());  // waits for it to finish
        std::ifstream sample(std::string(TROUPE_SOURCE_DIR) + "/scenes/monday-meeting.toml");
        json running = body_json(c.Post("/v1/scenes", std::string((std::istreambuf_iterator<char>(sample)), {}), "application/toml"));
        running_id = running["id"];
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        while (body_json(c.Get(("/v1/scenes/" + running_id).c_str()))["status"] != "running" && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        const auto stop_start = std::chrono::steady_clock::now();
        BOOST_TEST(server.stop() == 0, server.log());
        const double stop_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stop_start).count();
        BOOST_TEST(stop_seconds < 20.0);
    }
    ServerProcess again(args, dir);
    auto c = again.client();
    json done = body_json(c.Get(("/v1/scenes/" + done_id).c_str()));
    BOOST_TEST(done["status"] == "done");
    BOOST_TEST(c.Get(("/v1/scenes/" + done_id + "/files/mix.wav").c_str())->status == 200);
    json stopped = body_json(c.Get(("/v1/scenes/" + running_id).c_str()));
    BOOST_TEST((stopped["status"] == "cancelled" || stopped["status"] == "done"), stopped.dump());
    auto events = sse_events(c.Get(("/v1/scenes/" + running_id + "/events").c_str())->body);
    BOOST_REQUIRE(!events.empty());
    BOOST_TEST((events.back().first == "failed" || events.back().first == "done"));
    BOOST_TEST(again.stop() == 0);
}
