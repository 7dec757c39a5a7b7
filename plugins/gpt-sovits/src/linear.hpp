// linear.hpp — nn.Linear as upstream's S1 and S2 modules register it: parameters `weight` (out, in)
// and optional `bias`, PyTorch's default U(±1/√in) initialisation (the modules stay trainable).
#pragma once

#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <cstdint>

namespace troupe::sovits {

class LinearImpl : public torch::nn::Module {
public:
    LinearImpl(int64_t in, int64_t out, bool bias = true);
    at::Tensor forward(const at::Tensor& x) const;

private:
    at::Tensor weight_, bias_;
};

}  // namespace troupe::sovits
