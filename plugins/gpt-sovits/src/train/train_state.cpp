#include "train/train_state.hpp"

#include <troupe/status.hpp>
#include <troupe/torch/safetensors.hpp>

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <fmt/format.h>

#include <cmath>
#include <memory>
#include <mutex>

namespace troupe::sovits::train {
namespace {

at::Generator generator(const c10::Device& d) { return at::globalContext().defaultGenerator(d); }

}  // namespace

void write_state(const std::string& path, NamedTensors tensors, const c10::Device& device, const char* key,
                 nlohmann::json meta, const nlohmann::json& identity) {
    auto add_rng = [&](const c10::Device& d, const char* name) {
        at::Generator g = generator(d);
        std::lock_guard<std::mutex> lock(g.mutex());
        tensors.emplace_back(name, g.get_state());
    };
    add_rng(c10::Device(c10::kCPU), "rng.cpu");
    if (device.is_cuda()) add_rng(device, "rng.device");
    meta["format"] = 1;
    meta["identity"] = identity;
    st::save(path, tensors, {{key, meta.dump()}});
}

OpenedState open_state(const std::string& path, const char* key, const char* what, const nlohmann::json& identity) {
    OpenedState s;
    s.path = path;
    s.file = std::make_shared<const st::File>(st::File::open(path));
    const auto it = s.file->metadata().find(key);
    if (it == s.file->metadata().end())
        throw Error(Errc::invalid_file, fmt::format("{}: not an {} training state (no {} metadata)", path, what, key));
    try {
        s.meta = nlohmann::json::parse(it->second);
    } catch (const std::exception& e) {
        throw Error(Errc::invalid_file, fmt::format("{}: unreadable training state: {}", path, e.what()));
    }
    if (!s.meta.is_object()) throw Error(Errc::invalid_file, fmt::format("{}: unreadable training state: metadata is not an object", path));
    const auto was = s.meta.value("identity", nlohmann::json());
    if (was != identity)
        throw Error(Errc::invalid_argument,
                    fmt::format("{}: this state was written by a run with other data, model or settings ({}); use another "
                                "output folder or delete the state to start over (now: {})",
                                path, was.dump(), identity.dump()));
    return s;
}

bool OpenedState::contains(const std::string& name) const { return file->contains(name); }

at::Tensor OpenedState::tensor(const std::string& name) const {
    if (!file->contains(name)) throw Error(Errc::invalid_file, fmt::format("{}: missing '{}'", path, name));
    return file->tensor(name);
}

const nlohmann::json& OpenedState::field(const std::string& name) const {
    const auto it = meta.find(name);
    if (it == meta.end()) throw Error(Errc::invalid_file, fmt::format("{}: the training state lacks '{}'", path, name));
    return *it;
}

int64_t OpenedState::integer(const std::string& name) const {
    const nlohmann::json& v = field(name);
    if (!v.is_number_integer())
        throw Error(Errc::invalid_file, fmt::format("{}: the training state's '{}' is not an integer: {}", path, name, v.dump()));
    return v.get<int64_t>();
}

NamedTensors OpenedState::with_prefix(const std::string& prefix) const {
    NamedTensors out;
    for (const auto& n : file->names())
        if (n.rfind(prefix, 0) == 0) out.emplace_back(n.substr(prefix.size()), file->tensor(n));
    return out;
}

void OpenedState::restore_rng(const c10::Device& device) const {
    auto set = [&](const c10::Device& d, const char* name) {
        at::Generator g = generator(d);
        std::lock_guard<std::mutex> lock(g.mutex());
        g.set_state(tensor(name).clone());
    };
    set(c10::Device(c10::kCPU), "rng.cpu");
    if (device.is_cuda() && contains("rng.device")) set(device, "rng.device");
}

std::string fmt_duration(double s) {
    if (!std::isfinite(s) || s < 0) return "?";
    const int64_t t = int64_t(s + 0.5);
    return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60) : fmt::format("{}:{:02}", t / 60, t % 60);
}

}  // namespace troupe::sovits::train
