// Passkey evaluation: scoring rules, an oracle that always answers right scores 1, a tiny
// random model runs end to end, and `drt eval passkey` writes the documented JSON and a
// heatmap.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "data/tokenizer.h"
#include "eval/passkey.h"
#include "support/test_util.h"

namespace drt {
namespace {

// The tiny model with chunks long enough for the passkey question (S = 63).
ModelConfig passkey_config() {
  ModelConfig c = test::tiny_config();
  c.enc_chunk_size = 63;
  c.slide_window = 64;
  return c;
}

TEST(EvalPasskey, DepthsAndScoring) {
  auto d = depth_values(10);
  ASSERT_EQ(d.size(), 10u);
  EXPECT_DOUBLE_EQ(d.front(), 0.0);
  EXPECT_DOUBLE_EQ(d.back(), 1.0);
  EXPECT_EQ(depth_values(1), std::vector<double>{0.5});
  EXPECT_THROW(depth_values(0), Error);

  const std::vector<int64_t> answer = {3, 1, 4};
  auto logits = torch::zeros({3, 10});
  for (int64_t i = 0; i < 3; ++i) logits[i][answer[i]] = 1.0;
  EXPECT_TRUE(token_mode_hit(logits, answer));
  logits[1][7] = 2.0;
  EXPECT_FALSE(token_mode_hit(logits, answer));

  EXPECT_TRUE(text_mode_hit(" 73914 and more", " 73914"));
  EXPECT_TRUE(text_mode_hit("is: 7 3 9 1 4.", " 7 3 9 1 4"));
  EXPECT_FALSE(text_mode_hit("7391", " 73914"));
  EXPECT_EQ(format_count(4096), "4K");
  EXPECT_EQ(format_count(16 * 1024 * 1024), "16M");
}

TEST(EvalPasskey, OracleScoresOneAndReportHasFields) {
  auto tok = make_tokenizer("bytes");
  const std::vector<int64_t> haystack = tok->encode(passkey_filler_text());
  PasskeyOptions options;
  options.lengths = {300, 1000};  // rounded up to whole chunks of 63
  options.depths = 3;
  options.trials = 2;
  options.progress = false;
  // An oracle reading the answer off the sample: its one-hot predictions are scored like
  // the model's.
  PasskeyAttempt oracle = [](const SyntheticSample& s) {
    auto logits = torch::zeros({static_cast<int64_t>(s.answer.size()), 259});
    for (size_t i = 0; i < s.answer.size(); ++i) logits[static_cast<int64_t>(i)][s.answer[i]] = 1.0;
    return token_mode_hit(logits, s.answer);
  };
  PasskeyReport report = run_passkey(*tok, haystack, 63, options, oracle);
  ASSERT_EQ(report.results.size(), 6u);
  EXPECT_DOUBLE_EQ(report.accuracy(), 1.0);
  EXPECT_EQ(report.results[0].length, 315);
  EXPECT_EQ(report.results[3].length, 1008);
  EXPECT_DOUBLE_EQ(report.results[1].depth, 0.5);
  auto j = report.to_json();
  EXPECT_EQ(j.at("task").get<std::string>(), "passkey");
  EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), 1.0);
  ASSERT_EQ(j.at("results").size(), 6u);
  for (const char* key : {"length", "depth", "trials", "correct", "accuracy"})
    EXPECT_TRUE(j.at("results")[0].contains(key)) << key;
  EXPECT_EQ(j.at("results")[0].at("trials").get<int64_t>(), 2);

  // A "model" that never answers scores 0.
  EXPECT_DOUBLE_EQ(run_passkey(*tok, haystack, 63, options, [](const SyntheticSample&) { return false; }).accuracy(),
                   0.0);
  const std::string dir = test::temp_dir("passkey_png");
  write_passkey_heatmap(dir + "/h.png", report);
  EXPECT_GT(std::filesystem::file_size(dir + "/h.png"), 100u);
  std::filesystem::remove_all(dir);
}

// The finer measures add up per cell: answer digits right, and how often retrieval
// fetched the needle; they appear in the JSON only where measured.
TEST(EvalPasskey, DigitAndRetrievalRatesAddUpPerCell) {
  auto tok = make_tokenizer("bytes");
  const std::vector<int64_t> haystack = tok->encode(passkey_filler_text());
  PasskeyOptions options;
  options.lengths = {630};
  options.depths = 1;
  options.trials = 4;
  options.progress = false;
  int calls = 0;
  double distances = 0;  // what the cell's needle_distance must average
  PasskeyAttempt partial = [&](const SyntheticSample& s) {
    distances += static_cast<double>(s.tokens.size() - s.answer.size()) - static_cast<double>(s.needle_pos);
    PasskeyOutcome o(calls == 0);                  // one of four right
    o.answer_tokens = static_cast<int64_t>(s.answer.size());
    o.answer_tokens_right = calls == 0 ? 5 : 1;    // 5 + 1 + 1 + 1 of 20 digits
    o.retrieved = calls % 2 == 0 ? 1 : 0;          // 2 of 4
    o.needle_weight = calls == 0 ? 0.75 : calls == 2 ? 0.25 : 0.0;  // mean 1.0 / 4
    ++calls;
    return o;
  };
  PasskeyReport r = run_passkey(*tok, haystack, 63, options, partial);
  ASSERT_EQ(r.results.size(), 1u);
  const auto row = r.to_json().at("results")[0];
  EXPECT_DOUBLE_EQ(row.at("accuracy").get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(row.at("token_accuracy").get<double>(), 8.0 / 20.0);
  EXPECT_DOUBLE_EQ(row.at("retrieval_rate").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(row.at("needle_weight").get<double>(), 0.25);
  // Depth 0.5 of 630 tokens: the needle starts about half the haystack before the question.
  EXPECT_DOUBLE_EQ(row.at("needle_distance").get<double>(), distances / 4);
  EXPECT_GT(distances / 4, 200.0);
  EXPECT_LT(distances / 4, 400.0);
  EXPECT_NE(r.table().find("distance"), std::string::npos) << r.table();
  EXPECT_NE(r.table().find("0.25"), std::string::npos) << r.table();
  EXPECT_NE(r.table().find("40.0%"), std::string::npos) << r.table();
  // The column names the answer's symbols: letters for copy-letters, digits otherwise.
  EXPECT_NE(r.table().find("digits ok"), std::string::npos) << r.table();
  r.task = "copy-letters";
  EXPECT_NE(r.table().find("letters ok"), std::string::npos) << r.table();
  EXPECT_EQ(r.table().find("digits ok"), std::string::npos) << r.table();
  // A bare hit/miss attempt measures neither.
  const auto plain = run_passkey(*tok, haystack, 63, options, [](const SyntheticSample&) { return true; })
                         .to_json()
                         .at("results")[0];
  EXPECT_FALSE(plain.contains("token_accuracy"));
  EXPECT_FALSE(plain.contains("retrieval_rate"));
  EXPECT_FALSE(plain.contains("needle_weight"));
}

// --contexts N reads each length at N haystack offsets: the first context is the read of
// one context (the same samples, at every length), every context's samples share their own
// offset (what a spliced read needs), and each cell counts its contexts and those it got
// under half right.
TEST(EvalPasskey, ContextsReadEachLengthAtSeveralHaystackOffsets) {
  auto tok = make_tokenizer("bytes");
  std::string text;  // letters and spaces, no period: any offset is a different text
  uint64_t x = 1;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    text += static_cast<char>('a' + (x >> 59) % 26);
    if (i % 7 == 6) text += ' ';
  }
  const std::vector<int64_t> haystack = tok->encode(text);
  PasskeyOptions options;
  options.lengths = {630, 504};
  options.depth_list = {0.2, 0.8};
  options.trials = 2;
  options.overlay = true;
  options.progress = false;
  std::vector<int64_t> offsets;
  PasskeyPrepare prepare = [&](int64_t, const std::vector<SyntheticOptions>& samples) {
    offsets.push_back(samples.front().haystack_offset);
    for (const auto& o : samples) EXPECT_EQ(o.haystack_offset, samples.front().haystack_offset);
  };
  std::vector<std::vector<int64_t>> one;  // the samples of one context
  run_passkey(*tok, haystack, 63, options, [&](const SyntheticSample& s) {
    one.push_back(s.tokens);
    return true;
  }, prepare);
  const std::vector<int64_t> one_offsets = offsets;
  ASSERT_EQ(one_offsets.size(), 2u);  // one per length
  ASSERT_EQ(one.size(), 8u);

  options.contexts = 3;
  offsets.clear();
  size_t calls = 0;  // per length: 4 samples of each context, the first context's first
  // Right in the first context only: the other two are under half right in every cell.
  const PasskeyReport r = run_passkey(*tok, haystack, 63, options, [&](const SyntheticSample& s) {
    const size_t length_index = calls / 12, in_length = calls % 12;
    ++calls;
    if (in_length >= 4) return false;
    EXPECT_EQ(s.tokens, one[length_index * 4 + in_length]) << "sample " << in_length << " of length " << length_index;
    return true;
  }, prepare);
  ASSERT_EQ(offsets.size(), 6u);  // [length][context]
  for (size_t l = 0; l < 2; ++l) {
    EXPECT_EQ(offsets[l * 3], one_offsets[l]) << "length " << l;
    EXPECT_NE(offsets[l * 3], offsets[l * 3 + 1]);
    EXPECT_NE(offsets[l * 3 + 1], offsets[l * 3 + 2]);
    EXPECT_NE(offsets[l * 3], offsets[l * 3 + 2]);
  }
  ASSERT_EQ(r.results.size(), 4u);
  for (const auto& cell : r.results) {
    EXPECT_EQ(cell.trials, 6);
    EXPECT_EQ(cell.correct, 2);
    EXPECT_EQ(cell.contexts, 3);
    EXPECT_EQ(cell.contexts_below_half, 2);
  }
  EXPECT_EQ(r.to_json().at("results")[0].at("contexts_below_half").get<int64_t>(), 2);
  EXPECT_NE(r.table().find("contexts <50%"), std::string::npos) << r.table();
  EXPECT_NE(r.table().find("2 of 3"), std::string::npos) << r.table();

  options.contexts = 0;
  try {
    run_passkey(*tok, haystack, 63, options, [](const SyntheticSample&) { return true; });
    ADD_FAILURE() << "--contexts 0 was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--contexts must be at least 1, got 0"), std::string::npos) << e.what();
  }
}

// The copy tasks take their string length from copy_length (0: the whole last chunk).
TEST(EvalPasskey, CopyLengthSetsTheCopiedString) {
  auto tok = make_tokenizer("bytes");
  const std::vector<int64_t> haystack = tok->encode(passkey_filler_text());
  PasskeyOptions options;
  options.task = SyntheticTask::kCopyLetters;
  options.lengths = {630};
  options.depths = 2;
  options.progress = false;
  std::vector<size_t> sizes;
  auto record = [&](const SyntheticSample& s) {
    sizes.push_back(s.answer.size());
    return false;
  };
  run_passkey(*tok, haystack, 63, options, record);
  options.copy_length = 7;
  run_passkey(*tok, haystack, 63, options, record);
  EXPECT_EQ(sizes, (std::vector<size_t>{62, 62, 7, 7}));
}

// A random tiny passkey model, the byte tokenizer and the filler haystack, read at 256 tokens.
struct TinyPasskeyRun {
  ModelConfig c = passkey_config();
  DrtLM model = test::make_model(c, 2);
  std::unique_ptr<Tokenizer> tok = make_tokenizer("bytes");
  std::vector<int64_t> haystack = tok->encode(passkey_filler_text());
  PasskeyOptions options = [] {
    PasskeyOptions o;
    o.lengths = {256};
    o.progress = false;
    return o;
  }();
};

TEST(EvalPasskey, TinyModelRunsBothModes) {
  TinyPasskeyRun run;
  auto& [c, model, tok, haystack, options] = run;
  options.depths = 2;
  for (auto mode : {PasskeyMode::kToken, PasskeyMode::kText}) {
    options.mode = mode;
    PasskeyReport r = run_passkey(*tok, haystack, c.enc_chunk_size, options,
                                  session_attempt(model, *tok, mode, MemorySpec::parse("ram")));
    ASSERT_EQ(r.results.size(), 2u);
    for (const auto& cell : r.results) {
      EXPECT_EQ(cell.trials, 1);
      EXPECT_GE(cell.correct, 0);
      EXPECT_LE(cell.correct, 1);
      // The needle's weight is a mixture weight averaged over the groups: in (0, 1] when
      // its chunk was retrieved, 0 when not.
      ASSERT_EQ(cell.retrieval_trials, 1);
      if (cell.retrieved == 1) {
        EXPECT_GT(cell.needle_weight, 0.0);
        EXPECT_LE(cell.needle_weight, 1.0 + 1e-6);
      } else {
        EXPECT_EQ(cell.needle_weight, 0.0);
      }
    }
  }
}

// --show prints, per sample, the answer, the retrieval that served the question's chunk and
// the text the sliding window holds when the answer starts: the question's tail, and no more
// than W tokens (a number there can compete with the retrieved needle).
TEST(EvalPasskey, ShowPrintsTheAnswerTheRetrievalAndTheWindow) {
  TinyPasskeyRun run;
  auto& [c, model, tok, haystack, options] = run;
  options.depths = 1;
  std::ostringstream shown;
  run_passkey(*tok, haystack, c.enc_chunk_size, options,
              session_attempt(model, *tok, PasskeyMode::kToken, MemorySpec::parse("ram"), &shown));
  const std::string out = shown.str();
  EXPECT_NE(out.find("model's answer"), std::string::npos) << out;
  EXPECT_NE(out.find("retrieved for the question's chunk"), std::string::npos) << out;
  const std::string key = "  window: \"";
  const size_t at = out.find(key);
  ASSERT_NE(at, std::string::npos) << out;
  const size_t end = out.find("\"\n", at + key.size());
  ASSERT_NE(end, std::string::npos) << out;
  const std::string window = out.substr(at + key.size(), end - at - key.size());
  EXPECT_LE(static_cast<int64_t>(window.size()), c.slide_window) << window;
  EXPECT_EQ(window.size() - window.rfind("The passkey is:"), std::string("The passkey is: ").size()) << window;
}

TEST(EvalPasskey, CommandWritesJsonAndHeatmap) {
  const std::string dir = test::temp_dir("evalpasskey");
  passkey_config().save(dir + "/config.json");
  ASSERT_EQ(test::run_drt("init --config " + dir + "/config.json --out " + dir + "/model").exit_code, 0);
  auto r = test::run_drt("eval passkey --model " + dir + "/model --lengths 256,512 --depths 3 --trials 1 "
                         "--haystack filler --memory disk:" + dir + "/mem.bin --memory-dtype bf16 --json " + dir +
                         "/out.json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(std::ifstream(dir + "/out.json"));
  EXPECT_EQ(j.at("task").get<std::string>(), "passkey");
  ASSERT_EQ(j.at("results").size(), 6u);
  EXPECT_EQ(j.at("results")[0].at("length").get<int64_t>(), 315);
  EXPECT_GE(j.at("accuracy").get<double>(), 0.0);
  EXPECT_LE(j.at("accuracy").get<double>(), 1.0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/out.png"));
  // A DRT in token mode measures digits and retrieval too; time and memory are recorded.
  EXPECT_TRUE(j.at("results")[3].contains("token_accuracy"));
  EXPECT_TRUE(j.at("results")[3].contains("retrieval_rate"));
  EXPECT_TRUE(j.at("results")[3].contains("needle_weight"));
  EXPECT_GT(j.at("seconds").get<double>(), 0.0);
  EXPECT_GT(j.at("peak_rss_mib").get<double>(), 0.0);
  EXPECT_EQ(j.at("read").get<std::string>(), "spliced");
  // The plot of this result, and a clear error for a file that is not a result.
  auto plot = test::run_drt("eval plot --inputs " + dir + "/out.json --metric retrieval_rate --out " + dir + "/l.png");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/l.png"));
  plot = test::run_drt("eval plot --inputs " + dir + "/out.json --metric needle_weight --out " + dir + "/w.png");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/w.png"));
  plot = test::run_drt("eval plot --inputs " + dir + "/out.json --x distance --out " + dir + "/d.png");
  ASSERT_EQ(plot.exit_code, 0) << plot.output;
  EXPECT_TRUE(std::filesystem::exists(dir + "/d.png"));
  auto bad_x = test::run_drt("eval plot --inputs " + dir + "/out.json --x depth --out " + dir + "/b.png");
  EXPECT_EQ(bad_x.exit_code, 1);
  EXPECT_NE(bad_x.output.find("'depth'"), std::string::npos) << bad_x.output;
  auto bad_metric = test::run_drt("eval plot --inputs " + dir + "/out.json --metric weights --out " + dir + "/b.png");
  EXPECT_EQ(bad_metric.exit_code, 1);
  EXPECT_NE(bad_metric.output.find("'weights'"), std::string::npos) << bad_metric.output;
  auto not_result = test::run_drt("eval plot --inputs " + dir + "/config.json --out " + dir + "/x.png");
  EXPECT_EQ(not_result.exit_code, 1);
  EXPECT_NE(not_result.output.find("neither"), std::string::npos) << not_result.output;
  auto bad = test::run_drt("eval passkey --model " + dir + "/model --lengths 256 --task nosuch --haystack filler");
  EXPECT_EQ(bad.exit_code, 1);
  // The GCA ablation is recorded in the result, and a bad value is named.
  auto ablated = test::run_drt("eval passkey --model " + dir + "/model --lengths 256 --depths 1 --haystack filler "
                               "--gca-chunks question --quiet --json " + dir + "/abl.json");
  ASSERT_EQ(ablated.exit_code, 0) << ablated.output;
  EXPECT_NE(ablated.output.find("only the question's chunk"), std::string::npos) << ablated.output;
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(dir + "/abl.json")).at("gca_chunks").get<std::string>(), "question");
  auto bad_gca = test::run_drt("eval passkey --model " + dir + "/model --lengths 256 --haystack filler "
                               "--gca-chunks sideways");
  EXPECT_EQ(bad_gca.exit_code, 1);
  EXPECT_NE(bad_gca.output.find("'sideways'"), std::string::npos) << bad_gca.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace drt
