// The plugin side of a command call (troupe/kit/command.hpp).
#include <troupe/kit/command.hpp>

#include <fmt/format.h>

#include <cstring>

namespace troupe::kit {

CommandContext::CommandContext(const troupe_command_context& c) : c_(&c) {
    auto str = [](const char* s) { return std::string(s ? s : ""); };
    command_ = str(c.command);
    json = c.json != 0;
    quiet = c.quiet != 0;
    log_level = LogLevel(c.log_level);
    plugin_name_ = str(c.plugin_name);
    plugin_dir_ = str(c.plugin_dir);
    for (size_t i = 0; i < c.param_count; ++i) params_[str(c.param_keys[i])] = str(c.param_values[i]);
    for (size_t i = 0; i < c.allow_dir_count; ++i) allow_dirs_.push_back(str(c.allow_dirs[i]));
}

void CommandContext::log(LogLevel level, const std::string& message) const {
    if (c_->log) c_->log(c_->host, int(level), message.c_str());
}

bool CommandContext::cancelled() const { return c_->cancel_requested && c_->cancel_requested(c_->host) != 0; }

std::string CommandContext::character_folder(const std::string& id_or_name) const {
    const char* folder = c_->character_folder ? c_->character_folder(c_->host, id_or_name.c_str()) : nullptr;
    if (folder) return folder;
    const char* why = c_->last_error ? c_->last_error(c_->host) : nullptr;
    throw Error(Errc::not_found, why && *why ? why : "no character '" + id_or_name + "'");
}

int dispatch_command(const troupe_command_context* context, const CommandHandler* handlers, size_t count) noexcept {
    const char* name = context && context->command ? context->command : "";
    return run_guarded(name, [&]() -> int {
        if (!context || context->size < offsetof(troupe_command_context, last_error) + sizeof context->last_error)
            throw Error(Errc::unsupported, "the host's command context is older than this plugin needs");
        for (size_t i = 0; i < count; ++i) {
            if (std::strcmp(handlers[i].name, name) != 0) continue;
            const CommandContext ctx(*context);
            std::vector<std::string> args;
            for (int a = 0; a < context->argc; ++a) args.emplace_back(context->argv[a]);
            return handlers[i].run(args, ctx);
        }
        throw Error(Errc::invalid_argument, fmt::format("this plugin declares '{}' but has no handler for it", name));
    });
}

}  // namespace troupe::kit
