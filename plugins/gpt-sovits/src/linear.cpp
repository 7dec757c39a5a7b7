#include "linear.hpp"

#include <ATen/ATen.h>

#include <cmath>

namespace troupe::sovits {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool bias) {
    const double bound = 1.0 / std::sqrt(double(in));
    weight_ = register_parameter("weight", at::empty({out, in}).uniform_(-bound, bound));
    if (bias) bias_ = register_parameter("bias", at::empty({out}).uniform_(-bound, bound));
}

at::Tensor LinearImpl::forward(const at::Tensor& x) const { return at::linear(x, weight_, bias_); }

}  // namespace troupe::sovits
