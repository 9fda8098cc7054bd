// Appending nodes and constants to an ONNX graph (internal to the exporter).
//
//   onnx::ModelProto model;
//   GraphBuilder b(model.mutable_graph());
//   std::string two = b.floats("two", {1}, {2.0f});
//   std::string y = b.add("Mul", {"x", two});
//
// Every name the builder makes starts with "vigil/", so it never collides
// with the tensors of a spliced backbone (which are renamed "backbone/...").
// Not thread-safe; one builder per export.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

namespace vigil {

onnx::AttributeProto int_attr(const std::string& name, std::int64_t value);
onnx::AttributeProto float_attr(const std::string& name, float value);
onnx::AttributeProto ints_attr(const std::string& name,
                               const std::vector<std::int64_t>& values);
onnx::AttributeProto string_attr(const std::string& name,
                                 const std::string& value);

class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  // Adds one node of the default domain and returns its output's name:
  // `output`, or a fresh one when that is empty. An empty input name
  // stands for an omitted optional input.
  std::string add(const std::string& op, const std::vector<std::string>& inputs,
                  const std::vector<onnx::AttributeProto>& attributes = {},
                  const std::string& output = "");

  // Adds a float32 initializer of `shape` (row-major) and returns its name.
  std::string floats(const std::string& hint,
                     const std::vector<std::int64_t>& shape,
                     const std::vector<float>& values);
  // The same from a buffer of the shape's size (named apart: a literal 0
  // would otherwise pick this overload as a null pointer).
  std::string floats_data(const std::string& hint,
                          const std::vector<std::int64_t>& shape,
                          const float* values);
  // The same for int64 (indices, shapes, axes).
  std::string ints(const std::string& hint,
                   const std::vector<std::int64_t>& shape,
                   const std::vector<std::int64_t>& values);
  std::string ints_data(const std::string& hint,
                        const std::vector<std::int64_t>& shape,
                        const std::int64_t* values);

  // A fresh tensor or node name: "vigil/<hint>_<counter>".
  std::string fresh(const std::string& hint);

  onnx::GraphProto& graph() { return *graph_; }

 private:
  onnx::GraphProto* graph_;
  int counter_ = 0;
};

}  // namespace vigil
