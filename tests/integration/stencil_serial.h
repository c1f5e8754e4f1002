// The stencil_1d graph of the multi-rank tests, computed here step by step:
// column x starts at x; step t of column x is cell(left, centre, right, t)
// of step t-1 (a border column is its own missing neighbour).
#pragma once

#include <vector>

template <typename Cell>
std::vector<double> SerialStencil(int width, int steps, Cell cell) {
  std::vector<double> prev(width), cur(width);
  for (int x = 0; x < width; ++x) prev[x] = x;
  for (int t = 1; t < steps; ++t) {
    for (int x = 0; x < width; ++x) {
      cur[x] = cell(prev[x > 0 ? x - 1 : x], prev[x], prev[x + 1 < width ? x + 1 : x], t);
    }
    prev.swap(cur);
  }
  return prev;
}
