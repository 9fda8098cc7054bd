#include "export/graph_builder.h"

#include <numeric>

#include "vigil/error.h"

namespace vigil {
namespace {

std::int64_t element_count(const std::vector<std::int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), std::int64_t{1},
                         std::multiplies<std::int64_t>());
}

// Raw little-endian bytes keep large tensors (a memory bank) compact and
// fast to parse; every supported host is little-endian.
onnx::TensorProto* add_initializer(onnx::GraphProto* graph,
                                   const std::string& name, int type,
                                   const std::vector<std::int64_t>& shape,
                                   const void* data, std::size_t bytes) {
  onnx::TensorProto* t = graph->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (std::int64_t d : shape) t->add_dims(d);
  t->set_raw_data(data, bytes);
  return t;
}

}  // namespace

onnx::AttributeProto int_attr(const std::string& name, std::int64_t value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INT);
  a.set_i(value);
  return a;
}

onnx::AttributeProto float_attr(const std::string& name, float value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::FLOAT);
  a.set_f(value);
  return a;
}

onnx::AttributeProto ints_attr(const std::string& name,
                               const std::vector<std::int64_t>& values) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::INTS);
  for (std::int64_t v : values) a.add_ints(v);
  return a;
}

onnx::AttributeProto string_attr(const std::string& name,
                                 const std::string& value) {
  onnx::AttributeProto a;
  a.set_name(name);
  a.set_type(onnx::AttributeProto::STRING);
  a.set_s(value);
  return a;
}

std::string GraphBuilder::fresh(const std::string& hint) {
  return "vigil/" + hint + "_" + std::to_string(counter_++);
}

std::string GraphBuilder::add(
    const std::string& op, const std::vector<std::string>& inputs,
    const std::vector<onnx::AttributeProto>& attributes,
    const std::string& output) {
  onnx::NodeProto* node = graph_->add_node();
  std::string name = fresh(op);
  node->set_name(name);
  node->set_op_type(op);
  for (const std::string& input : inputs) node->add_input(input);
  node->add_output(output.empty() ? name : output);
  for (const onnx::AttributeProto& a : attributes) {
    *node->add_attribute() = a;
  }
  return node->output(0);
}

std::string GraphBuilder::floats(const std::string& hint,
                                 const std::vector<std::int64_t>& shape,
                                 const std::vector<float>& values) {
  VIGIL_ASSERT(std::int64_t(values.size()) == element_count(shape));
  return floats_data(hint, shape, values.data());
}

std::string GraphBuilder::floats_data(const std::string& hint,
                                      const std::vector<std::int64_t>& shape,
                                      const float* values) {
  std::string name = fresh(hint);
  add_initializer(graph_, name, onnx::TensorProto::FLOAT, shape, values,
                  element_count(shape) * sizeof(float));
  return name;
}

std::string GraphBuilder::ints(const std::string& hint,
                               const std::vector<std::int64_t>& shape,
                               const std::vector<std::int64_t>& values) {
  VIGIL_ASSERT(std::int64_t(values.size()) == element_count(shape));
  return ints_data(hint, shape, values.data());
}

std::string GraphBuilder::ints_data(const std::string& hint,
                                    const std::vector<std::int64_t>& shape,
                                    const std::int64_t* values) {
  std::string name = fresh(hint);
  add_initializer(graph_, name, onnx::TensorProto::INT64, shape, values,
                  element_count(shape) * sizeof(std::int64_t));
  return name;
}

}  // namespace vigil
