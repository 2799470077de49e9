// What the tokenizer kinds share, internal to src/data: tokenizer.json (the fields every
// kind writes, the checks every loader runs) and how a token's bytes are displayed.
#pragma once
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "data/tokenizer.h"

namespace drt {

constexpr int kTokenizerFormatVersion = 1;

// {"format_version", "kind", "spec", "vocab_size", "pad_id", "bos_id", "chunk_id"}.
// Ordered, so that a person reading the file sees the kind first.
nlohmann::ordered_json tokenizer_json_common(const Tokenizer& tokenizer);
void write_tokenizer_json(const std::string& dir, const nlohmann::ordered_json& json);
// Throws, naming `path`, when the ids or vocab size recorded in `json` differ from what
// the loaded `tokenizer` has (the files beside it were swapped or edited).
void check_tokenizer_json(const nlohmann::json& json, const Tokenizer& tokenizer, const std::string& path);

// `bytes` as they are when they are UTF-8 text, with every byte that is not shown as
// "<0xE6>" (as SentencePiece names its byte pieces).
std::string display_bytes(std::string_view bytes);

}  // namespace drt
