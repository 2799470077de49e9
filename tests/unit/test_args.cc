// Flag parsing: lists of counts, and errors that name the flag and the bad part.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/args.h"
#include "core/error.h"

namespace drt {
namespace {

Args parsed(std::vector<std::string> words) {
  Args args("drt test", "a test command");
  args.option("lengths", "LIST", "lengths", "1008");
  std::vector<char*> argv = {const_cast<char*>("drt")};
  for (auto& w : words) argv.push_back(w.data());
  args.parse(static_cast<int>(argv.size()), argv.data());
  return args;
}

TEST(Args, IntsReadACommaListOfCounts) {
  EXPECT_EQ(parsed({}).get_ints("lengths"), std::vector<int64_t>{1008});
  EXPECT_EQ(parsed({"--lengths", "189,252,4k"}).get_ints("lengths"), (std::vector<int64_t>{189, 252, 4096}));
  try {
    parsed({"--lengths", "189,abc"}).get_ints("lengths");
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--lengths"), std::string::npos) << what;
    EXPECT_NE(what.find("'abc'"), std::string::npos) << what;
  }
  EXPECT_THROW(parsed({"--lengths", ","}).get_ints("lengths"), Error);
}

}  // namespace
}  // namespace drt
