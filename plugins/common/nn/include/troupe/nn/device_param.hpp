// troupe/nn/device_param.hpp — the "device" parameter of the LibTorch scorer plugins (whisper, wavlm-sv, utmos).
#pragma once

#include <troupe/kit/params.hpp>

#include <c10/core/Device.h>

namespace troupe::nn {

/// Params "device" ("cpu" default, "cuda", "cuda:N") as a c10::Device; throws Error(invalid_argument)
/// "<plugin>: parameter 'device' = '<value>' is not a device (cpu, cuda, cuda:N)" through `p`.
c10::Device device_param(const kit::ParamReader& p);

}  // namespace troupe::nn
