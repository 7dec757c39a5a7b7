// prepare/torch_file.hpp — one tensor as a `torch.save` file (what upstream's 4-cnhubert/*.pt are).
#pragma once

#include <ATen/Tensor.h>

#include <string>

namespace troupe::sovits::prepare {

/// Writes `tensor` (CPU, contiguous copy taken) in torch.save's zip format (readable by Python's
/// torch.load and by troupe::pt::Checkpoint), atomically (temporary file, then rename).
void save_tensor_pt(const std::string& path, const at::Tensor& tensor);

/// Reads a torch.save file whose root object is one tensor, through the restricted unpickler.
/// Throws Error(invalid_file) naming the file otherwise.
at::Tensor load_tensor_pt(const std::string& path);

}  // namespace troupe::sovits::prepare
