#include <gtest/gtest.h>

#include "core/threads.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  drt::set_threads(0);
  return RUN_ALL_TESTS();
}
