#pragma once
// The training ops use the kernels' vectorizable exp (kernels/fast_exp.h) under this name.
#include "kernels/fast_exp.h"

namespace sputnik::train {
using sputnik::fast_exp;
}  // namespace sputnik::train
