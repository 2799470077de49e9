// Flag parsing: lists of counts, and errors that name the flag and the bad part.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/args.h"
#include "core/error.h"
#include "support/error_of.h"

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
  const std::string what = test::error_of([] { parsed({"--lengths", "189,abc"}).get_ints("lengths"); });
  EXPECT_NE(what.find("--lengths"), std::string::npos) << what;
  EXPECT_NE(what.find("'abc'"), std::string::npos) << what;
  EXPECT_THROW(parsed({"--lengths", ","}).get_ints("lengths"), Error);
}

TEST(Args, DoublesReadACommaListOfNumbers) {
  EXPECT_EQ(parsed({"--lengths", "0.1,0.25"}).get_doubles("lengths"), (std::vector<double>{0.1, 0.25}));
  EXPECT_EQ(parsed({"--lengths", "1"}).get_doubles("lengths"), std::vector<double>{1.0});
  const std::string what = test::error_of([] { parsed({"--lengths", "0.1,x"}).get_doubles("lengths"); });
  EXPECT_NE(what.find("--lengths"), std::string::npos) << what;
  EXPECT_NE(what.find("'x'"), std::string::npos) << what;
  EXPECT_THROW(parsed({"--lengths", ","}).get_doubles("lengths"), Error);
}

}  // namespace
}  // namespace drt
