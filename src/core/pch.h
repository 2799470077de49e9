// Precompiled header for every drt target: LibTorch's umbrella header is expensive
// (~20 s per translation unit), so it is parsed once here.
#pragma once
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>
