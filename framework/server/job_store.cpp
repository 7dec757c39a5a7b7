#include "job_store.hpp"

#include <troupe/status.hpp>

#include <boost/filesystem.hpp>

#include <fstream>
#include <random>

namespace troupe::server {
namespace fs = boost::filesystem;

namespace {

int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string new_job_id() {
    static std::mutex mutex;
    static std::mt19937_64 rng{std::random_device{}()};
    std::lock_guard<std::mutex> lock(mutex);
    const char* digits = "0123456789abcdef";
    std::string id = "scene-";
    for (int i = 0; i < 12; ++i) id += digits[rng() % 16];
    return id;
}

void write_file(const fs::path& path, const std::string& text) {
    const fs::path tmp = path.string() + ".tmp";
    {
        std::ofstream out(tmp.string(), std::ios::binary | std::ios::trunc);
        out << text;
        if (!out) throw Error(Errc::runtime, tmp.string() + ": write failed");
    }
    fs::rename(tmp, path);
}

}  // namespace

void Job::push(const std::string& type, nlohmann::json data) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        JobEvent e{long(events_.size()) + 1, type, std::move(data)};
        e.data["job"] = id_;
        std::ofstream out((fs::path(dir_) / "events.jsonl").string(), std::ios::app | std::ios::binary);
        out << nlohmann::json{{"id", e.id}, {"type", e.type}, {"data", e.data}}.dump(-1, ' ', false,
                                                                                  nlohmann::json::error_handler_t::replace)
            << "\n";
        events_.push_back(std::move(e));
    }
    changed_.notify_all();
}

std::vector<JobEvent> Job::events_after(long after, std::chrono::milliseconds timeout, bool& finished) {
    std::unique_lock<std::mutex> lock(mutex_);
    auto ended = [&] { return status_ == "done" || status_ == "failed" || status_ == "cancelled"; };
    changed_.wait_for(lock, timeout, [&] { return long(events_.size()) > after || ended(); });
    finished = ended();
    std::vector<JobEvent> out;
    for (size_t i = size_t(std::max(0L, after)); i < events_.size(); ++i) out.push_back(events_[i]);
    return out;
}

nlohmann::json Job::state() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {{"id", id_}, {"status", status_}, {"title", title_}, {"created", created_},
            {"error", error_}, {"events", events_.size()}};
}

std::string Job::status() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return status_;
}

void Job::set_title(const std::string& title) {
    std::lock_guard<std::mutex> lock(mutex_);
    title_ = title;
    save_state_locked();
}

void Job::set_status(const std::string& status, const std::string& error) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        status_ = status;
        error_ = error;
        if (!created_) created_ = now_seconds();
        save_state_locked();
    }
    changed_.notify_all();
}

void Job::save_state_locked() const {
    write_file(fs::path(dir_) / "job.json",
               nlohmann::json{{"id", id_}, {"status", status_}, {"title", title_}, {"created", created_},
                              {"error", error_}}.dump(2) + "\n");
}

void Job::load() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::ifstream in((fs::path(dir_) / "job.json").string());
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object()) {
        status_ = j.value("status", "failed");
        title_ = j.value("title", "");
        error_ = j.value("error", "");
        created_ = j.value("created", int64_t(0));
    }
    std::ifstream events((fs::path(dir_) / "events.jsonl").string());
    for (std::string line; std::getline(events, line);) {
        nlohmann::json e = nlohmann::json::parse(line, nullptr, false);
        if (e.is_object()) events_.push_back({e.value("id", 0L), e.value("type", ""), e.value("data", nlohmann::json())});
    }
    if (status_ == "queued" || status_ == "running") {
        status_ = "failed";
        error_ = "the server stopped before the job finished";
        save_state_locked();
    }
}

JobStore::JobStore(std::string root, size_t max_active) : root_(std::move(root)), max_active_(max_active) {
    fs::create_directories(root_);
    for (const auto& entry : fs::directory_iterator(root_)) {
        if (!fs::exists(entry.path() / "job.json")) continue;
        auto job = std::make_shared<Job>(entry.path().filename().string(), entry.path().string());
        job->load();
        jobs_[job->id()] = job;
    }
}

JobStore::~JobStore() { stop_all(); }

std::shared_ptr<Job> JobStore::start(const std::string& script, const std::function<void(Job&)>& run) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (active_ >= max_active_) return nullptr;
    const std::string id = new_job_id();
    const fs::path dir = fs::path(root_) / id;
    fs::create_directories(dir);
    write_file(dir / "script.toml", script);
    auto job = std::make_shared<Job>(id, dir.string());
    job->set_status("queued");
    jobs_[id] = job;
    ++active_;
    threads_.emplace_back([this, job, run] {
        run(*job);
        std::lock_guard<std::mutex> done(mutex_);
        --active_;
    });
    return job;
}

std::shared_ptr<Job> JobStore::find(const std::string& id) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(id);
    return it == jobs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Job>> JobStore::list() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::shared_ptr<Job>> out;
    for (auto& [id, job] : jobs_) out.push_back(job);
    return out;
}

nlohmann::json JobStore::counts() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {{"active", active_}, {"total", jobs_.size()}, {"max_active", max_active_}};
}

void JobStore::stop_all() {
    std::vector<std::thread> threads;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        for (auto& [id, job] : jobs_) job->cancel = true;
        threads.swap(threads_);
    }
    for (auto& t : threads)
        if (t.joinable()) t.join();
}

}  // namespace troupe::server
