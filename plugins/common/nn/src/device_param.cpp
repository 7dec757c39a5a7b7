#include <troupe/nn/device_param.hpp>

#include <fmt/format.h>

namespace troupe::nn {

c10::Device device_param(const kit::ParamReader& p) {
    const std::string device = p.string("device", "cpu");
    try {
        return c10::Device(device);
    } catch (const std::exception&) {
        p.fail("device", fmt::format("= '{}' is not a device (cpu, cuda, cuda:N)", device));
    }
}

}  // namespace troupe::nn
