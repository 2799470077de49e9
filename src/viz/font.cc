#include "viz/font.h"

#include <array>
#include <vector>

#include "core/error.h"

namespace drt::viz {
namespace {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphRows = 9;  // 7 above the baseline, 2 for descenders
constexpr int kFirstChar = 32;
constexpr int kNumChars = 95;  // ' ' .. '~'
constexpr int kGlyphsPerBlock = 16;
constexpr int kSpaceAdvance = 3;

// The glyphs as pictures, 16 per block: a line naming the characters, then 9 pixel rows,
// glyph k of the block in columns [6k, 6k + 5). Kept as art so that a glyph can be
// checked or redrawn by eye.
constexpr const char* kFontArt = R"(
(sp)    !     "     #     $     %     &     '     (     )     *     +     ,     -     .     /
..... ..#.. .#.#. .#.#. ..#.. ##... .##.. ..#.. ...#. .#... ..... ..... ..... ..... ..... .....
..... ..#.. .#.#. .#.#. .#### ##..# #..#. ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..... ..... ....#
..... ..#.. .#.#. ##### #.#.. ...#. #.#.. ..#.. .#... ...#. #.#.# ..#.. ..... ..... ..... ...#.
..... ..#.. ..... .#.#. .###. ..#.. .#... ..... .#... ...#. .###. ##### ..... ##### ..... ..#..
..... ..#.. ..... ##### ..#.# .#... #.#.# ..... .#... ...#. #.#.# ..#.. ..... ..... ..... .#...
..... ..... ..... .#.#. ####. #..## #..#. ..... ..#.. ..#.. ..#.. ..#.. .##.. ..... .##.. #....
..... ..#.. ..... .#.#. ..#.. ...## .##.# ..... ...#. .#... ..... ..... .##.. ..... .##.. .....
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..#.. ..... ..... .....
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .#... ..... ..... .....
  0     1     2     3     4     5     6     7     8     9     :     ;     <     =     >     ?
.###. ..#.. .###. .###. ...#. ##### ..##. ##### .###. .###. ..... ..... ...#. ..... .#... .###.
#...# .##.. #...# #...# ..##. #.... .#... ....# #...# #...# .##.. .##.. ..#.. ..... ..#.. #...#
#...# ..#.. ....# ....# .#.#. ####. #.... ...#. #...# #...# .##.. .##.. .#... ##### ...#. ....#
#...# ..#.. ...#. ..##. #..#. ....# ####. ..#.. .###. .#### ..... ..... #.... ..... ....# ...#.
#...# ..#.. ..#.. ....# ##### ....# #...# .#... #...# ....# .##.. .##.. .#... ##### ...#. ..#..
#...# ..#.. .#... #...# ...#. #...# #...# .#... #...# ...#. .##.. .##.. ..#.. ..... ..#.. .....
.###. .###. ##### .###. ...#. .###. .###. .#... .###. .##.. ..... ..#.. ...#. ..... .#... ..#..
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .#... ..... ..... ..... .....
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
  @     A     B     C     D     E     F     G     H     I     J     K     L     M     N     O
.###. .###. ####. .###. ####. ##### ##### .###. #...# .###. ..### #...# #.... #...# #...# .###.
#...# #...# #...# #...# #...# #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.## #...# #...#
#.### #...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.# ##..# #...#
#.#.# ##### ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.# #.#.# #...#
#.### #...# #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...# #..## #...#
#.... #...# #...# #...# #...# #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...# #...# #...#
.###. #...# ####. .###. ####. ##### #.... .#### #...# .###. .##.. #...# ##### #...# #...# .###.
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
  P     Q     R     S     T     U     V     W     X     Y     Z     [     \     ]     ^     _
####. .###. ####. .#### ##### #...# #...# #...# #...# #...# ##### .###. ..... .###. ..#.. .....
#...# #...# #...# #.... ..#.. #...# #...# #...# #...# #...# ....# .#... #.... ...#. .#.#. .....
#...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. .#.#. ...#. .#... .#... ...#. #...# .....
####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. ..#.. ..#.. .#... ..#.. ...#. ..... .....
#.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#... .#... ...#. ...#. ..... .....
#.... #..#. #..#. ....# ..#.. #...# .#.#. #.#.# #...# ..#.. #.... .#... ....# ...#. ..... .....
#.... .##.# #...# ####. ..#.. .###. ..#.. .#.#. #...# ..#.. ##### .###. ..... .###. ..... .....
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... #####
..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
  `     a     b     c     d     e     f     g     h     i     j     k     l     m     n     o
.#... ..... #.... ..... ....# ..... ..##. ..... #.... ..#.. ...#. #.... .##.. ..... ..... .....
..#.. ..... #.... ..... ....# ..... .#..# ..... #.... ..... ..... #.... ..#.. ..... ..... .....
...#. .###. #.##. .###. .##.# .###. .#... .#### #.##. .##.. ..##. #..#. ..#.. ##.#. #.##. .###.
..... ....# ##..# #.... #..## #...# ###.. #...# ##..# ..#.. ...#. #.#.. ..#.. #.#.# ##..# #...#
..... .#### #...# #.... #...# ##### .#... #...# #...# ..#.. ...#. ##... ..#.. #.#.# #...# #...#
..... #...# #...# #...# #...# #.... .#... #...# #...# ..#.. ...#. #.#.. ..#.. #.#.# #...# #...#
..... .#### ####. .###. .#### .###. .#... .#### #...# .###. ...#. #..#. .###. #.#.# #...# .###.
..... ..... ..... ..... ..... ..... ..... ....# ..... ..... #..#. ..... ..... ..... ..... .....
..... ..... ..... ..... ..... ..... ..... .###. ..... ..... .##.. ..... ..... ..... ..... .....
  p     q     r     s     t     u     v     w     x     y     z     {     |     }     ~
..... ..... ..... ..... .#... ..... ..... ..... ..... ..... ..... ...## ..#.. ##... .....
..... ..... ..... ..... .#... ..... ..... ..... ..... ..... ..... ..#.. ..#.. ..#.. .....
####. .#### #.##. .#### ###.. #...# #...# #...# #...# #...# ##### ..#.. ..#.. ..#.. .#...
#...# #...# ##..# #.... .#... #...# #...# #...# .#.#. #...# ...#. .#... ..#.. ...#. #.#.#
#...# #...# #.... .###. .#... #...# #...# #.#.# ..#.. #...# ..#.. ..#.. ..#.. ..#.. ...#.
#...# #...# #.... ....# .#..# #..## .#.#. #.#.# .#.#. #...# .#... ..#.. ..#.. ..#.. .....
####. .#### #.... ####. ..##. .##.# ..#.. .#.#. #...# .#### ##### ...## ..#.. ##... .....
#.... ....# ..... ..... ..... ..... ..... ..... ..... ....# ..... ..... ..... ..... .....
#.... ....# ..... ..... ..... ..... ..... ..... ..... .###. ..... ..... ..... ..... .....
)";

struct Glyph {
  std::array<uint8_t, kGlyphRows> rows{};  // bit (4 - c) of rows[r] is column c
  int left = 0;                            // first inked column, used for proportional spacing
  int width = kGlyphWidth;                 // inked columns
};

std::vector<Glyph> parse_font() {
  std::vector<std::string> lines;
  std::string art(kFontArt);
  size_t start = 1;  // skip the newline right after R"(
  while (start < art.size()) {
    size_t end = art.find('\n', start);
    if (end == std::string::npos) end = art.size();
    lines.push_back(art.substr(start, end - start));
    start = end + 1;
  }
  std::vector<Glyph> glyphs(kNumChars);
  for (int i = 0; i < kNumChars; ++i) {
    int block = i / kGlyphsPerBlock, column = (i % kGlyphsPerBlock) * (kGlyphWidth + 1);
    Glyph& g = glyphs[i];
    for (int r = 0; r < kGlyphRows; ++r) {
      const std::string& line = lines.at(block * (kGlyphRows + 1) + 1 + r);
      for (int c = 0; c < kGlyphWidth; ++c)
        if (line.at(column + c) == '#') g.rows[r] |= static_cast<uint8_t>(1 << (kGlyphWidth - 1 - c));
    }
    uint8_t ink = 0;
    for (uint8_t row : g.rows) ink |= row;
    char ch = static_cast<char>(kFirstChar + i);
    bool fixed_width = ch >= '0' && ch <= '9';
    if (ink != 0 && !fixed_width) {
      int first = 0, last = kGlyphWidth - 1;
      while (!(ink & (1 << (kGlyphWidth - 1 - first)))) ++first;
      while (!(ink & (1 << (kGlyphWidth - 1 - last)))) --last;
      g.left = first;
      g.width = last - first + 1;
    }
  }
  return glyphs;
}

const Glyph& glyph_for(char ch) {
  static const std::vector<Glyph> glyphs = parse_font();
  int code = static_cast<unsigned char>(ch);
  if (code < kFirstChar || code >= kFirstChar + kNumChars) code = '?';
  return glyphs[code - kFirstChar];
}

int advance(char ch) { return ch == ' ' ? kSpaceAdvance : glyph_for(ch).width + 1; }

// The glyph's inked columns as a w x h bitmap, doubled with Scale2x when SMOOTH: a new
// pixel copies a neighbour only where two neighbours agree, which rounds diagonals.
std::vector<uint8_t> glyph_bitmap(const Glyph& g, bool smooth, int* w, int* h) {
  int w1 = g.width, h1 = kGlyphRows;
  auto at = [&](int x, int y) -> uint8_t {
    if (x < 0 || y < 0 || x >= w1 || y >= h1) return 0;
    return (g.rows[y] >> (kGlyphWidth - 1 - (g.left + x))) & 1;
  };
  if (!smooth) {
    std::vector<uint8_t> bits(w1 * h1);
    for (int y = 0; y < h1; ++y)
      for (int x = 0; x < w1; ++x) bits[y * w1 + x] = at(x, y);
    *w = w1;
    *h = h1;
    return bits;
  }
  *w = 2 * w1;
  *h = 2 * h1;
  std::vector<uint8_t> bits(*w * *h);
  for (int y = 0; y < h1; ++y) {
    for (int x = 0; x < w1; ++x) {
      uint8_t p = at(x, y), a = at(x, y - 1), b = at(x + 1, y), c = at(x - 1, y), d = at(x, y + 1);
      uint8_t e0 = p, e1 = p, e2 = p, e3 = p;
      if (c == a && c != d && a != b) e0 = a;
      if (a == b && a != c && b != d) e1 = b;
      if (d == c && d != b && c != a) e2 = c;
      if (b == d && b != a && d != c) e3 = d;
      bits[(2 * y) * *w + 2 * x] = e0;
      bits[(2 * y) * *w + 2 * x + 1] = e1;
      bits[(2 * y + 1) * *w + 2 * x] = e2;
      bits[(2 * y + 1) * *w + 2 * x + 1] = e3;
    }
  }
  return bits;
}

// Shared by both orientations: PLOT(u, v) receives the pixel at offset u along the text
// and v down from its top.
template <typename Plot>
void render(const std::string& text, int scale, Plot plot) {
  DRT_CHECK(scale >= 1, "text scale must be >= 1, got ", scale);
  bool smooth = scale % 2 == 0;
  int block = smooth ? scale / 2 : scale;
  int pen = 0;
  for (char ch : text) {
    if (ch != ' ') {
      int w = 0, h = 0;
      std::vector<uint8_t> bits = glyph_bitmap(glyph_for(ch), smooth, &w, &h);
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
          if (bits[y * w + x])
            for (int dy = 0; dy < block; ++dy)
              for (int dx = 0; dx < block; ++dx) plot(pen + x * block + dx, y * block + dy);
    }
    pen += advance(ch) * scale;
  }
}

}  // namespace

int text_height(int scale) { return kGlyphRows * scale; }

int text_width(const std::string& text, int scale) {
  if (text.empty()) return 0;
  int w = 0;
  for (char ch : text) w += advance(ch);
  return (w - 1) * scale;  // no gap after the last glyph
}

void draw_text(Image& image, int x, int y, const std::string& text, uint32_t color, int scale) {
  render(text, scale, [&](int u, int v) { image.set(x + u, y + v, color); });
}

void draw_text_up(Image& image, int x, int y, const std::string& text, uint32_t color, int scale) {
  int length = text_width(text, scale);
  render(text, scale, [&](int u, int v) { image.set(x + v, y + length - 1 - u, color); });
}

}  // namespace drt::viz
