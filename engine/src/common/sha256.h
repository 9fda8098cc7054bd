// SHA-256 in lower-case hex (internal), over one buffer or several in turn.
//
//   Sha256 h;
//   h.add(a.data(), a.size());
//   h.add(b.data(), b.size());
//   std::string hex = h.hex();   // as hex_sha256(a + b)
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace vigil {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void add(const void* data, std::size_t size);
  // The digest of everything added; the hasher is spent afterwards.
  std::string hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string hex_sha256(const std::string& bytes);

}  // namespace vigil
