#include "data/byte_tokenizer.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/tokenizer_common.h"

namespace drt {

std::vector<int64_t> ByteTokenizer::encode(std::string_view text) const {
  std::vector<int64_t> ids(text.size());
  for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<uint8_t>(text[i]);
  return ids;
}

std::string ByteTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string text;
  text.reserve(ids.size());
  for (int64_t id : ids) {
    check_id(id);
    if (!is_special(id)) text += static_cast<char>(id);
  }
  return text;
}

std::string ByteTokenizer::decode_token(int64_t id) const {
  check_id(id);
  if (id == kPadId) return "<pad>";
  if (id == kBosId) return "<bos>";
  if (id == kChunkId) return "<lmk>";
  if (id < 0x80) return std::string(1, static_cast<char>(id));
  return str_cat("<0x", "0123456789ABCDEF"[id >> 4], "0123456789ABCDEF"[id & 15], ">");
}

void ByteTokenizer::save(const std::string& dir) const { write_tokenizer_json(dir, tokenizer_json_common(*this)); }

}  // namespace drt
