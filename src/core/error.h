// Errors that reach the user. Every check at an API boundary names the offending value,
// e.g. "checkpoint has 12 heads, config says 8"; the CLI prints e.what() on one line and
// exits non-zero.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace drt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <typename T, typename... Rest>
void append(std::ostringstream& os, const T& v, const Rest&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// Concatenates its arguments with operator<<.
template <typename... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  detail::append(os, args...);
  return os.str();
}

}  // namespace drt

// DRT_CHECK(cond, parts...): throws drt::Error built from the parts when cond is false.
#define DRT_CHECK(cond, ...)                                  \
  do {                                                        \
    if (!(cond)) throw ::drt::Error(::drt::str_cat(__VA_ARGS__)); \
  } while (0)
