// Perplexity bookkeeping: position buckets (0-2K, 2K-8K, 8K-32K, ... x4 each), means per
// bucket, exp for perplexity, and the JSON fields `drt eval ppl` documents.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/perplexity.h"

namespace drt {
namespace {

TEST(EvalBuckets, BoundariesGrowByFour) {
  EXPECT_EQ(PositionBuckets::index(0), 0);
  EXPECT_EQ(PositionBuckets::index(2047), 0);
  EXPECT_EQ(PositionBuckets::index(2048), 1);
  EXPECT_EQ(PositionBuckets::index(8191), 1);
  EXPECT_EQ(PositionBuckets::index(8192), 2);
  EXPECT_EQ(PositionBuckets::index(32767), 2);
  EXPECT_EQ(PositionBuckets::index(32768), 3);
  EXPECT_EQ(PositionBuckets::index(16 * 1024 * 1024), 7);  // [8M, 32M)
  for (int64_t b = 0; b < 10; ++b) {
    EXPECT_EQ(PositionBuckets::index(PositionBuckets::begin(b)), b);
    EXPECT_EQ(PositionBuckets::index(PositionBuckets::end(b) - 1), b);
    if (b > 0) EXPECT_EQ(PositionBuckets::end(b), 4 * PositionBuckets::end(b - 1));
  }
  EXPECT_EQ(PositionBuckets::label(0), "0-2K");
  EXPECT_EQ(PositionBuckets::label(1), "2K-8K");
  EXPECT_EQ(PositionBuckets::label(2), "8K-32K");
  EXPECT_EQ(PositionBuckets::label(5), "512K-2M");
  EXPECT_THROW(PositionBuckets::index(-1), Error);
}

TEST(EvalBuckets, MeansPerBucketAndOverall) {
  PerplexityResult r;
  r.add(0, 1.0);
  r.add(2047, 3.0);
  r.add(2048, 2.0);
  r.add(9000, 4.0);  // bucket 2; bucket 1 has one token
  ASSERT_EQ(r.buckets.size(), 3u);
  EXPECT_EQ(r.tokens, 4);
  EXPECT_DOUBLE_EQ(r.loss(), 2.5);
  EXPECT_DOUBLE_EQ(r.ppl(), std::exp(2.5));
  EXPECT_EQ(r.buckets[0].tokens, 2);
  EXPECT_DOUBLE_EQ(r.buckets[0].loss(), 2.0);
  EXPECT_DOUBLE_EQ(r.buckets[1].loss(), 2.0);
  EXPECT_DOUBLE_EQ(r.buckets[2].ppl(), std::exp(4.0));
  EXPECT_EQ(r.buckets[2].from, 8192);
  EXPECT_EQ(r.buckets[2].to, 32768);

  const auto j = r.to_json();
  EXPECT_DOUBLE_EQ(j.at("loss").get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(j.at("ppl").get<double>(), std::exp(2.5));
  EXPECT_EQ(j.at("tokens").get<int64_t>(), 4);
  ASSERT_EQ(j.at("buckets").size(), 3u);
  for (const char* key : {"from", "to", "tokens", "loss", "ppl"}) EXPECT_TRUE(j.at("buckets")[0].contains(key)) << key;
  EXPECT_EQ(j.at("buckets")[1].at("from").get<int64_t>(), 2048);
  EXPECT_EQ(j.at("buckets")[1].at("to").get<int64_t>(), 8192);

  const std::string table = r.table();
  EXPECT_NE(table.find("nats/token"), std::string::npos);
  EXPECT_NE(table.find("exp(loss)"), std::string::npos);
  EXPECT_NE(table.find("2K-8K"), std::string::npos);
}

}  // namespace
}  // namespace drt
