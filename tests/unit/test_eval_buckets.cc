// Perplexity bookkeeping: position buckets (0-2K, 2K-8K, 8K-32K, ... x4 each, or a smaller
// first bucket), means per bucket, exp for perplexity, and the JSON fields `drt eval ppl` documents.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "eval/perplexity.h"

namespace drt {
namespace {

TEST(EvalBuckets, BoundariesGrowByFour) {
  const PositionBuckets edges;
  EXPECT_EQ(edges.index(0), 0);
  EXPECT_EQ(edges.index(2047), 0);
  EXPECT_EQ(edges.index(2048), 1);
  EXPECT_EQ(edges.index(8191), 1);
  EXPECT_EQ(edges.index(8192), 2);
  EXPECT_EQ(edges.index(32767), 2);
  EXPECT_EQ(edges.index(32768), 3);
  EXPECT_EQ(edges.index(16 * 1024 * 1024), 7);  // [8M, 32M)
  for (int64_t b = 0; b < 10; ++b) {
    EXPECT_EQ(edges.index(edges.begin(b)), b);
    EXPECT_EQ(edges.index(edges.end(b) - 1), b);
    if (b > 0) EXPECT_EQ(edges.end(b), 4 * edges.end(b - 1));
  }
  EXPECT_EQ(edges.label(0), "0-2K");
  EXPECT_EQ(edges.label(1), "2K-8K");
  EXPECT_EQ(edges.label(2), "8K-32K");
  EXPECT_EQ(edges.label(5), "512K-2M");
  EXPECT_THROW(edges.index(-1), Error);
}

TEST(EvalBuckets, ASmallerFirstBucketSplitsTheFirst2KAndKeepsTheRest) {
  const PositionBuckets fine(128), standard;
  EXPECT_EQ(fine.label(0), "0-128");
  EXPECT_EQ(fine.label(1), "128-512");
  EXPECT_EQ(fine.label(2), "512-2K");
  EXPECT_EQ(fine.index(127), 0);
  EXPECT_EQ(fine.index(128), 1);
  EXPECT_EQ(fine.index(2047), 2);
  for (int64_t b = 1; b < 8; ++b) {  // from 2K on, bucket b + 2 of the fine edges is bucket b
    EXPECT_EQ(fine.begin(b + 2), standard.begin(b));
    EXPECT_EQ(fine.end(b + 2), standard.end(b));
  }
  PerplexityResult r;
  r.edges = fine;
  r.add(5, 1.0);
  r.add(600, 3.0);
  ASSERT_EQ(r.buckets.size(), 3u);  // 0-128, 128-512 (empty), 512-2K
  EXPECT_EQ(r.buckets[1].tokens, 0);
  EXPECT_EQ(r.buckets[2].from, 512);
  EXPECT_DOUBLE_EQ(r.buckets[2].loss(), 3.0);
  EXPECT_NE(r.table().find("512-2K"), std::string::npos);
  EXPECT_THROW(PositionBuckets(0), Error);
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
