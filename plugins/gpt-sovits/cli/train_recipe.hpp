// Shared by `troupe train s1` and `troupe train s2` (cli/train_s1.cpp, cli/train_s2.cpp): the recipe
// tables both trainers read the same way ([data] dir, [output] dir/name, the common [train] keys),
// the command-line overrides (--output, --device, --max-steps, --no-resume) and the progress clock.
// Each command keeps only its own keys. Every recipe error names file:line:column (kit::TableReader).
#pragma once
#include <troupe/kit/cli.hpp>
#include <troupe/kit/toml.hpp>

#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <string>

namespace troupe::sovits::cli {

/// The sub-table `key` of a recipe, or a file:line:column error "<key> <hint>".
inline const toml::table& required_table(kit::TableReader& top, const char* key, const char* hint) {
    const toml::table* t = top.table(key);
    if (!t) top.fail_key(key, hint);
    return *t;
}

/// [output] dir (required) and name (the export stem), into any trainer config with output_dir/exp_name.
template <class Config>
void read_output_table(const std::string& path, kit::TableReader& top, Config& c) {
    kit::TableReader o(path, required_table(top, "output", "is required ([output] dir = \"…\")"), "output");
    c.output_dir = o.string("dir", true);
    c.exp_name = o.string("name", false, c.exp_name);
    o.reject_unknown();
}

/// The [train] keys both trainers share: epochs, batch_size, save_every_epochs, seed, max_steps, resume.
template <class Config>
void read_common_train_keys(kit::TableReader& o, Config& c) {
    c.epochs = o.integer("epochs", c.epochs, 1, 100000);
    c.batch_size = o.integer("batch_size", c.batch_size, 1, 4096);
    c.save_every_epochs = o.integer("save_every_epochs", c.save_every_epochs, 1, 100000);
    c.seed = uint64_t(o.integer("seed", int64_t(c.seed), 0, INT64_MAX));
    c.max_steps = o.integer("max_steps", c.max_steps, 0, INT64_MAX);
    c.resume = o.boolean("resume", c.resume);
}

/// The command-line overrides of a recipe.
struct TrainOverrides {
    std::string output, device;
    int64_t max_steps = -1;
    bool no_resume = false;

    void add_to(boost::program_options::options_description& options) {
        namespace po = boost::program_options;
        options.add_options()("output,o", po::value(&output), "override [output] dir")(
            "device", po::value(&device), "override [model] device (cpu, cuda, cuda:1)")(
            "max-steps", po::value(&max_steps), "stop after N optimizer steps (exports and saves a resumable state)")(
            "no-resume", po::bool_switch(&no_resume), "start over even if the output folder holds a training state");
    }
    template <class Config>
    void apply(Config& c) const {
        if (!output.empty()) c.output_dir = output;
        if (!device.empty()) c.device = device;
        if (max_steps >= 0) c.max_steps = max_steps;
        if (no_resume) c.resume = false;
    }
};

/// mm:ss or h:mm:ss for the progress bar ("--:--" when unknown).
inline std::string clock(double s) {
    if (!std::isfinite(s) || s < 0) return "--:--";
    const int64_t t = int64_t(s + 0.5);
    return t >= 3600 ? fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60) : fmt::format("{:02}:{:02}", t / 60, t % 60);
}

}  // namespace troupe::sovits::cli
