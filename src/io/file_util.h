// Small file helpers shared by every reader and writer: whole-file reads with clear
// errors, and atomic writes (temp file + rename) so that nothing is ever half-written.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace drt {

std::string read_text_file(const std::string& path);
std::vector<char> read_binary_file(const std::string& path);
// Writes to PATH.tmp.<pid> then renames over PATH.
void write_file_atomic(const std::string& path, const std::string& bytes);
void write_file_atomic(const std::string& path, const void* data, size_t size);
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
void make_directories(const std::string& path);
// configs/<name>.json, looked up in $DRT_CONFIG_DIR, next to the executable and in the
// source tree.
std::string find_config_preset(const std::string& name);
// The repository's data/ folder (corpora installed by setup), or $DRT_DATA_DIR.
std::string data_dir();

}  // namespace drt
