#pragma once
// Writes .npy files (format 1.0, little-endian f4 / i4) so the PyTorch reference can read the
// driver's tensors with numpy.load.
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace sputnik::train::testing {

template <typename T>
void write_npy(const std::string& path, const std::vector<T>& data, const std::vector<int64_t>& shape) {
  static_assert(sizeof(T) == 4, "f4 or i4 only");
  const char* descr = std::is_floating_point_v<T> ? "<f4" : "<i4";
  int64_t n = 1;
  std::string dims;
  for (int64_t d : shape) {
    n *= d;
    dims += std::to_string(d) + ",";
  }
  if (n != int64_t(data.size())) fail("write_npy {}: shape has {} elements, data {}", path, n, data.size());
  std::string header = "{'descr': '" + std::string(descr) + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64 ending in \n.
  const size_t total = (10 + header.size() + 1 + 63) / 64 * 64;
  header.append(total - 10 - header.size() - 1, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  if (!f) fail("write_npy: cannot create {}", path);
  f.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = uint16_t(header.size());
  f.write(reinterpret_cast<const char*>(&len), 2);
  f.write(header.data(), std::streamsize(header.size()));
  f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size() * 4));
  if (!f) fail("write_npy: write failed for {}", path);
}

}  // namespace sputnik::train::testing
