// The `repeat` training task: text whose second half repeats its first, and its name in
// task mixtures.
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.h"
#include "train/task_mix.h"

namespace drt {
namespace {

TEST(RepeatTask, SecondHalfRepeatsTheFirst) {
  std::vector<int64_t> text(10);
  std::iota(text.begin(), text.end(), 100);  // 100 … 109
  EXPECT_EQ(repeat_text(text, 8), (std::vector<int64_t>{100, 101, 102, 103, 100, 101, 102, 103}));
  // Odd T: the first half is the longer one, so every repeated token has been seen before.
  EXPECT_EQ(repeat_text(text, 7), (std::vector<int64_t>{100, 101, 102, 103, 100, 101, 102}));
  EXPECT_EQ(repeat_text(text, 2), (std::vector<int64_t>{100, 100}));
  const std::vector<int64_t> long_one = repeat_text(text, 10);
  for (size_t i = 5; i < long_one.size(); ++i) EXPECT_EQ(long_one[i], long_one[i - 5]) << i;
  EXPECT_THROW(repeat_text(text, 11), Error);  // more tokens asked for than the text has
  EXPECT_THROW(repeat_text(text, 1), Error);
}

TEST(RepeatTask, MixturesNameIt) {
  const TaskMix mix = TaskMix::parse("mix:lm=0.4,repeat=0.3,passkey=0.3");
  ASSERT_EQ(mix.entries().size(), 3u);
  EXPECT_EQ(mix.entries()[1].first, "repeat");
  EXPECT_DOUBLE_EQ(mix.entries()[1].second, 0.3);
  EXPECT_EQ(TaskMix::parse("repeat").entries().size(), 1u);
  try {
    TaskMix::parse("repeats");
    ADD_FAILURE() << "an unknown task was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'repeats'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("repeat,"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace drt
