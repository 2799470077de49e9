#include "io/file_util.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"

namespace fs = std::filesystem;

namespace drt {

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DRT_CHECK(in.good(), "cannot open ", path, ": ", std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<char> read_binary_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DRT_CHECK(in.good(), "cannot open ", path, ": ", std::strerror(errno));
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    DRT_CHECK(out.good(), "cannot write ", tmp, ": ", std::strerror(errno));
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.flush();
    if (!out.good()) {
      std::remove(tmp.c_str());
      throw Error(str_cat("write to ", tmp, " failed: ", std::strerror(errno)));
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(str_cat("cannot rename ", tmp, " to ", path, ": ", ec.message()));
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, bytes.data(), bytes.size());
}

bool file_exists(const std::string& path) { return fs::exists(path); }
bool is_directory(const std::string& path) { return fs::is_directory(path); }

void make_directories(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  DRT_CHECK(!ec, "cannot create directory ", path, ": ", ec.message());
}

static std::string exe_dir() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

std::string find_config_preset(const std::string& name) {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("DRT_CONFIG_DIR")) dirs.push_back(env);
  dirs.push_back(exe_dir() + "/../configs");
  dirs.push_back(exe_dir() + "/configs");
#ifdef DRT_SOURCE_DIR
  dirs.push_back(std::string(DRT_SOURCE_DIR) + "/configs");
#endif
  for (const auto& d : dirs) {
    std::string p = d + "/" + name + ".json";
    if (fs::exists(p)) return p;
  }
  throw Error(str_cat("no config preset named '", name, "' (looked for ", name, ".json in configs/)"));
}

std::string data_dir() {
  if (const char* env = std::getenv("DRT_DATA_DIR")) return env;
#ifdef DRT_SOURCE_DIR
  return std::string(DRT_SOURCE_DIR) + "/data";
#else
  return "data";
#endif
}

}  // namespace drt
