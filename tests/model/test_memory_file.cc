// Chunk memory backends and memory files: RAM and file-backed memory give the same
// logits; half-precision storage stays close; save -> load continues exactly; a bad
// memory file is rejected with an error naming the problem.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/generate.h"
#include "engine/session.h"
#include "memory/memory_file.h"
#include "support/test_util.h"

namespace drt {
namespace {

using test::error_of;

using test::all_close;

std::vector<int64_t> to_vector(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

Session new_session(DrtLM model, const MemorySpec& spec) {
  return Session(model, make_chunk_store(spec, model->config.enc_chunk_size, model->config.hidden_size));
}

// Reads `ids` in segments of 11 tokens; returns all logits [T, V].
torch::Tensor read_all(Session& s, const std::vector<int64_t>& ids) {
  std::vector<torch::Tensor> parts;
  for (size_t i = 0; i < ids.size(); i += 11)
    parts.push_back(s.read(ids.data() + i, std::min<int64_t>(11, static_cast<int64_t>(ids.size() - i)), Logits::kAll));
  return torch::cat(parts, 0);
}

class MemoryFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = test::tiny_config();
    model_ = test::make_model(config_, 3);
    ids_ = to_vector(test::random_tokens(1, 10 * config_.enc_chunk_size + 7, 12).squeeze(0));
    dir_ = test::temp_dir("memfile");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // Logits of reading ids_ uninterrupted, RAM memory, fp32.
  torch::Tensor reference() {
    Session s = new_session(model_, MemorySpec::parse("ram"));
    return read_all(s, ids_);
  }
  // Logits of reading `parts` one after the other in one uninterrupted RAM session, each
  // with read_all's segments: what a saved and loaded session must reproduce bit for bit
  // (same segments, so the same shapes and roundings). Returns the logits per part.
  std::vector<torch::Tensor> uninterrupted(const std::vector<std::vector<int64_t>>& parts) {
    Session s = new_session(model_, MemorySpec::parse("ram"));
    std::vector<torch::Tensor> out;
    for (const auto& p : parts) out.push_back(read_all(s, p));
    return out;
  }

  ModelConfig config_;
  DrtLM model_{nullptr};
  std::vector<int64_t> ids_;
  std::string dir_;
};

TEST_F(MemoryFileTest, RamAndFileBackendsGiveIdenticalLogits) {
  auto ram = reference();
  Session s = new_session(model_, MemorySpec::parse("disk:" + dir_ + "/blocks.mem"));
  auto disk = read_all(s, ids_);
  EXPECT_TRUE(torch::equal(ram, disk));
  EXPECT_EQ(s.memory().size(), 10);
  EXPECT_EQ(s.memory().describe(), "disk:" + dir_ + "/blocks.mem");
  // Every block on disk is exactly the RAM block.
  // (Read with the same segments: matmuls of other shapes may round differently.)
  Session r = new_session(model_, MemorySpec::parse("ram"));
  read_all(r, ids_);
  torch::Tensor k1, v1, k2, v2;
  r.memory().read({0, 4, 9}, k1, v1);
  s.memory().read({0, 4, 9}, k2, v2);
  EXPECT_TRUE(torch::equal(k1, k2));
  EXPECT_TRUE(torch::equal(v1, v2));
}

TEST_F(MemoryFileTest, HalfPrecisionStorageIsClose) {
  auto ram = reference();
  for (const char* dtype : {"bf16", "fp16"}) {
    for (const std::string& where : {std::string("ram"), "disk:" + dir_ + "/" + dtype + ".mem"}) {
      Session s = new_session(model_, MemorySpec::parse(where, dtype));
      auto logits = read_all(s, ids_);
      EXPECT_TRUE(all_close(logits, ram, 1e-2, 2e-3)) << dtype << " " << where;
    }
  }
}

TEST_F(MemoryFileTest, SaveLoadContinuesIdentically) {
  const int64_t split = 5 * config_.enc_chunk_size + 9;  // mid-chunk: pending states are saved
  const std::vector<int64_t> first(ids_.begin(), ids_.begin() + split), rest(ids_.begin() + split, ids_.end());
  const std::vector<int64_t> rest_a(rest.begin(), rest.begin() + 20), rest_b(rest.begin() + 20, rest.end());
  const auto expected = uninterrupted({first, rest});
  const auto expected_ab = uninterrupted({first, rest_a, rest_b});
  const std::string path = dir_ + "/session.mem";
  {
    Session s = new_session(model_, MemorySpec::parse("ram"));
    read_all(s, first);
    s.save(path);
  }
  MemoryFileInfo info = read_memory_file_info(path);
  EXPECT_EQ(info.text_tokens, split);
  EXPECT_EQ(info.chunks, 5);
  EXPECT_EQ(info.version, kMemoryFileVersion);
  for (const std::string& tail : {std::string("ram"), "disk:" + dir_ + "/tail.mem"}) {
    Session s = Session::load(model_, path, MemorySpec::parse(tail));
    EXPECT_EQ(s.text_tokens(), split);
    EXPECT_TRUE(torch::equal(s.last_logits(), expected[0][split - 1])) << tail;
    auto logits = read_all(s, rest);
    EXPECT_TRUE(torch::equal(logits, expected[1])) << tail;
    EXPECT_EQ(s.memory().size(), 10);
  }
  // A loaded session saves again (base blocks + new ones) and loads identically.
  const std::string again = dir_ + "/again.mem";
  {
    Session s = Session::load(model_, path, MemorySpec::parse("ram"));
    read_all(s, rest_a);
    s.save(again);
  }
  Session s = Session::load(model_, again, MemorySpec::parse("ram"));
  auto logits = read_all(s, rest_b);
  EXPECT_TRUE(torch::equal(logits, expected_ab[2]));
}

TEST_F(MemoryFileTest, DiskSessionSavesInPlace) {
  const int64_t split = 6 * config_.enc_chunk_size + 2;
  const std::vector<int64_t> first(ids_.begin(), ids_.begin() + split), rest(ids_.begin() + split, ids_.end());
  const torch::Tensor expected = uninterrupted({first, rest})[1];
  const std::string path = dir_ + "/book.mem";
  Session s = new_session(model_, MemorySpec::parse("disk:" + path));
  read_all(s, first);
  EXPECT_NE(error_of([&] { read_memory_file_info(path); }).find("incomplete"), std::string::npos);
  s.save(path);  // in place: blocks stay, state + header are written
  EXPECT_EQ(read_memory_file_info(path).chunks, 6);
  {
    Session loaded = Session::load(model_, path, MemorySpec::parse("disk:" + dir_ + "/tail.mem"));
    auto logits = read_all(loaded, rest);
    EXPECT_TRUE(torch::equal(logits, expected));
  }
  // Loading never modifies the file it continues from, and it must not be the tail.
  EXPECT_NE(error_of([&] { Session::load(model_, path, MemorySpec::parse("disk:" + path)); }).find("being loaded"),
            std::string::npos);
  // The original session goes on; appending over the saved state marks the file incomplete.
  auto logits = read_all(s, rest);
  EXPECT_TRUE(torch::equal(logits, expected));
  EXPECT_NE(error_of([&] { read_memory_file_info(path); }).find("incomplete"), std::string::npos);
}

TEST_F(MemoryFileTest, GenerationAfterLoadEqualsUninterrupted) {
  GenerateOptions options;
  options.max_new = 40;
  options.stop_at_bos = false;
  Session a = new_session(model_, MemorySpec::parse("ram"));
  a.read(ids_, Logits::kNone);
  auto expected = generate(a, options);
  const std::string path = dir_ + "/gen.mem";
  {
    Session s = new_session(model_, MemorySpec::parse("ram", "fp32"));
    s.read(ids_, Logits::kNone);
    s.save(path);
  }
  Session b = Session::load(model_, path, MemorySpec::parse("ram"));
  EXPECT_EQ(generate(b, options), expected);
}

TEST_F(MemoryFileTest, RejectsBadFiles) {
  const std::string path = dir_ + "/good.mem";
  {
    Session s = new_session(model_, MemorySpec::parse("ram"));
    s.read(ids_, Logits::kNone);
    s.save(path);
  }
  auto load_error = [&](const std::string& p, DrtLM model) {
    return error_of([&] { Session::load(model, p, MemorySpec::parse("ram")); });
  };
  auto copy_to = [&](const std::string& name) {
    const std::string p = dir_ + "/" + name;
    std::filesystem::copy_file(path, p, std::filesystem::copy_options::overwrite_existing);
    return p;
  };
  auto patch = [&](const std::string& p, int64_t offset, const std::string& bytes) {
    const int fd = ::open(p.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), offset), static_cast<ssize_t>(bytes.size()));
    ::close(fd);
  };

  EXPECT_EQ(load_error(path, model_), "");  // the good file loads
  // Another model (same config, other weights).
  EXPECT_NE(load_error(path, test::make_model(config_, 4)).find("another model"), std::string::npos);
  // Truncated: the state, then the blocks, then the header cut off.
  const auto size = static_cast<int64_t>(std::filesystem::file_size(path));
  for (int64_t keep : {size - 10, kMemoryFileHeaderBytes + 100, int64_t{10}}) {
    const std::string p = copy_to("cut.mem");
    std::filesystem::resize_file(p, static_cast<uintmax_t>(keep));
    EXPECT_NE(load_error(p, model_).find("truncated"), std::string::npos) << keep << ": " << load_error(p, model_);
  }
  {  // Another format version.
    const std::string p = copy_to("version.mem");
    const uint32_t v = kMemoryFileVersion + 6;
    patch(p, 8, std::string(reinterpret_cast<const char*>(&v), 4));
    EXPECT_NE(load_error(p, model_).find("format version 7"), std::string::npos) << load_error(p, model_);
  }
  {  // Not a memory file at all.
    const std::string p = copy_to("magic.mem");
    patch(p, 0, "GARBAGE!");
    EXPECT_NE(load_error(p, model_).find("not a drt memory file"), std::string::npos);
  }
  {  // A flipped byte in the saved state.
    const std::string p = copy_to("state.mem");
    patch(p, size - 3, "\x7f");
    EXPECT_NE(load_error(p, model_).find("corrupt"), std::string::npos) << load_error(p, model_);
  }
  EXPECT_NE(load_error(dir_ + "/missing.mem", model_).find("cannot open"), std::string::npos);
}

// The CLI end to end: read a text, save its memory, load it and generate; the same as
// generating after the whole text in one process.
TEST(MemoryFileCli, ReadThenGenerateEqualsOneShot) {
  const std::string dir = test::temp_dir("memcli");
  ASSERT_EQ(test::run_drt("init --config tiny --seed 2 --out " + dir + "/model").exit_code, 0);
  std::string text;
  for (int i = 0; i < 12; ++i) text += "The grass is green. The sky is blue. Line " + std::to_string(i) + ".\n";
  std::ofstream(dir + "/book.txt") << text;
  std::ofstream(dir + "/prompt.txt") << "Question: ";
  auto r = test::run_drt("read --model " + dir + "/model --input " + dir + "/book.txt --save-memory " + dir +
                         "/book.mem --memory disk:" + dir + "/book.mem --memory-dtype bf16");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto loaded = test::run_drt("generate --model " + dir + "/model --load-memory " + dir +
                              "/book.mem --prompt-file " + dir + "/prompt.txt --max-new 20 --greedy --no-stop --quiet");
  ASSERT_EQ(loaded.exit_code, 0) << loaded.output;
  std::ofstream(dir + "/all.txt") << text << "Question: ";
  auto oneshot = test::run_drt("generate --model " + dir + "/model --prompt-file " + dir +
                               "/all.txt --max-new 20 --greedy --no-stop --memory-dtype bf16 --quiet");
  ASSERT_EQ(oneshot.exit_code, 0) << oneshot.output;
  EXPECT_EQ(loaded.output, oneshot.output);
  // Another model's memory file is refused with one clear line.
  ASSERT_EQ(test::run_drt("init --config tiny --seed 3 --out " + dir + "/other").exit_code, 0);
  auto foreign = test::run_drt("generate --model " + dir + "/other --load-memory " + dir +
                               "/book.mem --prompt hi --max-new 3 --greedy");
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.output.find("another model"), std::string::npos) << foreign.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace drt
