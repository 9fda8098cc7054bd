// vigil::FlowStack, the public face of one scale's flow.
#include <torch/torch.h>

#include "models/fastflow/fastflow_model.h"
#include "models/torch_util.h"
#include "vigil/fastflow.h"

namespace vigil {

struct FlowStack::Impl {
  FlowShape shape;
  NormalizingFlow module{nullptr};

  torch::Tensor input(const float* data, int n) const {
    return tensor_from(data, {n, shape.channels, shape.height, shape.width});
  }
};

FlowStack::FlowStack(const FlowShape& shape, const FastFlowOptions& options,
                     std::uint64_t seed)
    : impl_(std::make_unique<Impl>()) {
  torch::manual_seed(seed);
  impl_->shape = shape;
  impl_->module =
      NormalizingFlow(std::int64_t(shape.channels), flow_params(options));
}

FlowStack::~FlowStack() = default;
FlowStack::FlowStack(FlowStack&&) noexcept = default;
FlowStack& FlowStack::operator=(FlowStack&&) noexcept = default;

std::vector<float> FlowStack::forward(const float* x, int n, float* z) const {
  torch::InferenceMode inference;
  auto [out, log_det] = impl_->module->forward(impl_->input(x, n));
  std::vector<float> values = to_floats(out);
  std::copy(values.begin(), values.end(), z);
  return to_floats(log_det);
}

void FlowStack::inverse(const float* z, int n, float* x) const {
  torch::InferenceMode inference;
  std::vector<float> values =
      to_floats(impl_->module->inverse(impl_->input(z, n)));
  std::copy(values.begin(), values.end(), x);
}

void FlowStack::write_tensors(TensorFile& file,
                              const std::string& prefix) const {
  write_module(*impl_->module, prefix, file);
}

void FlowStack::read_tensors(const TensorFile& file,
                             const std::string& prefix) {
  read_module(*impl_->module, prefix, file);
}

}  // namespace vigil
