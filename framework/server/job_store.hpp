// Internal: scene jobs, kept on disk under <data_dir>/jobs/<id>/ (script.toml, job.json,
// events.jsonl and the scene's files) so they outlive the client that started them and the server.
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace troupe::server {

/// One event of a job, as sent over SSE (`id`, `event: type`, `data`).
struct JobEvent {
    long id = 0;
    std::string type;  // queued, line_started, text_ready, audio_ready, line_failed, done, failed
    nlohmann::json data;
};

class Job {
public:
    Job(std::string id, std::string dir) : id_(std::move(id)), dir_(std::move(dir)) {}
    const std::string& id() const { return id_; }
    const std::string& dir() const { return dir_; }

    /// Appends an event (to memory and events.jsonl); "done" and "failed" also end the job.
    void push(const std::string& type, nlohmann::json data);
    /// Events with id > `after`, waiting up to `timeout` for one; `finished` says the job ended.
    std::vector<JobEvent> events_after(long after, std::chrono::milliseconds timeout, bool& finished);
    /// {id, status, title, created, error, events}
    nlohmann::json state() const;
    std::string status() const;
    void set_title(const std::string& title);
    void set_status(const std::string& status, const std::string& error = {});
    /// Reloads job.json and events.jsonl; an unfinished job becomes failed (the server stopped).
    void load();

    std::atomic<bool> cancel{false};

private:
    void save_state_locked() const;
    const std::string id_, dir_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<JobEvent> events_;
    std::string status_ = "queued", title_, error_;
    int64_t created_ = 0;
};

class JobStore {
public:
    /// `root` holds one folder per job; existing jobs are loaded. `max_active` bounds jobs waiting
    /// or running at once.
    JobStore(std::string root, size_t max_active);
    ~JobStore();

    /// A new job folder with `script` (TOML) written as script.toml, or null when `max_active` jobs
    /// are already active. `run` is then called on the job's own thread.
    std::shared_ptr<Job> start(const std::string& script, const std::function<void(Job&)>& run);
    std::shared_ptr<Job> find(const std::string& id) const;
    std::vector<std::shared_ptr<Job>> list() const;
    /// {"active": n, "total": n}
    nlohmann::json counts() const;
    /// Asks every running job to stop and waits for their threads.
    void stop_all();

private:
    const std::string root_;
    const size_t max_active_;
    mutable std::mutex mutex_;
    std::map<std::string, std::shared_ptr<Job>> jobs_;
    std::vector<std::thread> threads_;
    size_t active_ = 0;
};

}  // namespace troupe::server
