// error_of: the message of the drt::Error a call throws. Light (no torch), so the unit
// tests that do not need a model can use it too.
#pragma once
#include <functional>
#include <string>

#include "core/error.h"

namespace drt::test {

// The message of the drt::Error that f throws; "" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace drt::test
