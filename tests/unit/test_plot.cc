// viz/: the PNG writer produces files any decoder accepts (chunk CRCs checked with an
// independent CRC-32, IDAT inflated with zlib), text lands inside the box the font
// reports, line plots put series pixels where the axes say, legends show their labels,
// heatmap colours rise with the value, and bad input is refused with a clear drt::Error.
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/file_util.h"
#include "viz/font.h"
#include "viz/plot.h"
#include "viz/png.h"
#include "support/error_of.h"

namespace drt {
namespace {

using test::error_of;

namespace fs = std::filesystem;
using viz::Heatmap;
using viz::Image;
using viz::LinePlot;
using viz::Series;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) {
    path = (fs::temp_directory_path() / ("drt_test_" + name + "_" + std::to_string(::getpid()))).string();
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

// ---- an independent PNG reader --------------------------------------------------------

// Bitwise CRC-32 (polynomial 0xEDB88320), written here rather than taken from zlib so the
// writer's checksums are checked against a second implementation.
uint32_t reference_crc32(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return crc ^ 0xFFFFFFFFu;
}

uint32_t read_u32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<unsigned char>(s[at])} << 24) | (uint32_t{static_cast<unsigned char>(s[at + 1])} << 16) |
         (uint32_t{static_cast<unsigned char>(s[at + 2])} << 8) | uint32_t{static_cast<unsigned char>(s[at + 3])};
}

struct Chunk {
  std::string type, data;
};

// Splits a PNG into chunks, failing the test on a bad signature, length or CRC.
std::vector<Chunk> read_chunks(const std::string& png) {
  std::vector<Chunk> chunks;
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  size_t at = 8;
  while (at < png.size()) {
    EXPECT_LE(at + 12, png.size()) << "truncated chunk header at byte " << at;
    if (at + 12 > png.size()) break;
    uint32_t length = read_u32(png, at);
    EXPECT_LE(at + 12 + length, png.size()) << "chunk at byte " << at << " overruns the file";
    if (at + 12 + length > png.size()) break;
    Chunk c{png.substr(at + 4, 4), png.substr(at + 8, length)};
    EXPECT_EQ(read_u32(png, at + 8 + length), reference_crc32(c.type + c.data)) << "bad CRC on " << c.type;
    chunks.push_back(c);
    at += 12 + length;
  }
  return chunks;
}

// Decodes the PNGs encode_png writes (8-bit RGB, filter 0), checking the structure on
// the way.
Image decode_png(const std::string& png) {
  std::vector<Chunk> chunks = read_chunks(png);
  EXPECT_GE(chunks.size(), 3u);
  if (chunks.size() < 3) return Image();
  EXPECT_EQ(chunks.front().type, "IHDR");
  EXPECT_EQ(chunks.back().type, "IEND");
  EXPECT_TRUE(chunks.back().data.empty());
  const std::string& ihdr = chunks.front().data;
  EXPECT_EQ(ihdr.size(), 13u);
  int width = static_cast<int>(read_u32(ihdr, 0)), height = static_cast<int>(read_u32(ihdr, 4));
  EXPECT_EQ(ihdr.substr(8), std::string("\x08\x02\x00\x00\x00", 5)) << "expected 8-bit RGB, no interlace";
  std::string idat;
  for (const Chunk& c : chunks)
    if (c.type == "IDAT") idat += c.data;
  const size_t row_bytes = 1 + 3 * static_cast<size_t>(width);
  std::vector<uint8_t> raw(row_bytes * height + 16);  // room to notice a too-long stream
  uLongf raw_size = raw.size();
  EXPECT_EQ(uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()), Z_OK);
  EXPECT_EQ(raw_size, row_bytes * height);
  Image image(width, height);
  for (int y = 0; y < height; ++y) {
    EXPECT_EQ(raw[y * row_bytes], 0) << "row " << y << " uses a filter";
    std::copy_n(&raw[y * row_bytes + 1], 3 * width, &image.rgb[3 * static_cast<size_t>(width) * y]);
  }
  return image;
}

// ---- image queries ----------------------------------------------------------------------

int count_color(const Image& im, uint32_t color, int x0, int y0, int x1, int y1) {
  int n = 0;
  for (int y = std::max(y0, 0); y < std::min(y1, im.height); ++y)
    for (int x = std::max(x0, 0); x < std::min(x1, im.width); ++x) n += im.get(x, y) == color;
  return n;
}

// Rows holding at least MIN_COUNT pixels of COLOR.
std::vector<int> rows_with(const Image& im, uint32_t color, int min_count) {
  std::vector<int> rows;
  for (int y = 0; y < im.height; ++y)
    if (count_color(im, color, 0, y, im.width, y + 1) >= min_count) rows.push_back(y);
  return rows;
}

double mean(const std::vector<int>& v) {
  double s = 0;
  for (int x : v) s += x;
  return v.empty() ? kNaN : s / v.size();
}

struct Found {
  bool found = false;
  int x = 0, y = 0;
  uint32_t color = 0;
};

// Where TEXT, as draw_text renders it at SCALE, appears in IM: every ink pixel is one
// colour and no pixel of the glyph boxes' background has that colour.
Found find_text(const Image& im, const std::string& text, int scale) {
  Image stamp(viz::text_width(text, scale), viz::text_height(scale), 0xFFFFFF);
  viz::draw_text(stamp, 0, 0, text, 0x000000, scale);
  std::vector<std::pair<int, int>> ink, paper;
  for (int y = 0; y < stamp.height; ++y)
    for (int x = 0; x < stamp.width; ++x) (stamp.get(x, y) == 0 ? ink : paper).push_back({x, y});
  for (int oy = 0; oy + stamp.height <= im.height; ++oy)
    for (int ox = 0; ox + stamp.width <= im.width; ++ox) {
      uint32_t c = im.get(ox + ink[0].first, oy + ink[0].second);
      // Ink and paper checks interleave so that flat areas are rejected at once.
      bool match = true;
      for (size_t i = 0; match && (i < ink.size() || i < paper.size()); ++i) {
        if (i < ink.size() && im.get(ox + ink[i].first, oy + ink[i].second) != c) match = false;
        if (i < paper.size() && im.get(ox + paper[i].first, oy + paper[i].second) == c) match = false;
      }
      if (match) return {true, ox, oy, c};
    }
  return {};
}

// ---- PNG ------------------------------------------------------------------------------

Image test_pattern() {
  Image im(7, 5, 0x000000);
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x) im.set(x, y, static_cast<uint8_t>(x * 40), static_cast<uint8_t>(y * 60), 200);
  return im;
}

TEST(PngWriter, EncodesAValidRgbPng) {
  Image im = test_pattern();
  std::string png = viz::encode_png(im);
  std::vector<Chunk> chunks = read_chunks(png);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0].type, "IHDR");
  EXPECT_EQ(read_u32(chunks[0].data, 0), 7u);
  EXPECT_EQ(read_u32(chunks[0].data, 4), 5u);
  EXPECT_EQ(chunks[1].type, "IDAT");
  EXPECT_EQ(chunks[2].type, "IEND");

  Image back = decode_png(png);
  EXPECT_EQ(back.width, 7);
  EXPECT_EQ(back.height, 5);
  EXPECT_EQ(back.rgb, im.rgb);
  EXPECT_EQ(back.get(3, 2), (3u * 40 << 16) | (2u * 60 << 8) | 200u);
}

TEST(PngWriter, WritePngMatchesEncodingAndLeavesNoTempFile) {
  TempDir dir("png_write");
  std::string path = dir.path + "/pattern.png";
  viz::write_png(path, test_pattern());
  EXPECT_EQ(read_text_file(path), viz::encode_png(test_pattern()));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path)) files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(PngWriter, RejectsEmptyOrInconsistentImages) {
  EXPECT_THROW(Image(0, 4), Error);
  Image im(3, 2);
  im.rgb.pop_back();
  EXPECT_NE(error_of([&] { viz::encode_png(im); }).find("3x2"), std::string::npos);
  EXPECT_THROW(Image(2, 2).get(2, 0), Error);
  Image clipped(2, 2, 0xFFFFFF);
  clipped.set(-1, 5, 0x000000);  // drawing outside is ignored, not an error
  EXPECT_EQ(clipped.rgb, Image(2, 2, 0xFFFFFF).rgb);
}

// ---- font -----------------------------------------------------------------------------

TEST(BitmapFont, InkStaysInsideTheReportedBox) {
  for (int scale : {1, 2, 3}) {
    const std::string text = "Ag|y 0.97%";
    int w = viz::text_width(text, scale), h = viz::text_height(scale);
    Image im(w + 20, h + 20, 0xFFFFFF);
    viz::draw_text(im, 10, 10, text, 0x000000, scale);
    int inside = count_color(im, 0x000000, 10, 10, 10 + w, 10 + h);
    EXPECT_GT(inside, 0) << "scale " << scale;
    EXPECT_EQ(count_color(im, 0x000000, 0, 0, im.width, im.height), inside) << "scale " << scale;
    // The first and last columns and the descender rows are all used.
    EXPECT_GT(count_color(im, 0x000000, 10, 10, 10 + scale, 10 + h), 0);
    EXPECT_GT(count_color(im, 0x000000, 10 + w - scale, 10, 10 + w, 10 + h), 0);
    EXPECT_GT(count_color(im, 0x000000, 10, 10 + h - scale, 10 + w, 10 + h), 0);

    Image up(h + 20, w + 20, 0xFFFFFF);
    viz::draw_text_up(up, 10, 10, text, 0x000000, scale);
    EXPECT_EQ(count_color(up, 0x000000, 10, 10, 10 + h, 10 + w), count_color(up, 0x000000, 0, 0, up.width, up.height));
    EXPECT_GT(count_color(up, 0x000000, 0, 0, up.width, up.height), 0);
  }
}

TEST(BitmapFont, SpacingIsProportionalExceptForDigits) {
  EXPECT_LT(viz::text_width("i"), viz::text_width("m"));
  EXPECT_EQ(viz::text_width("1"), viz::text_width("8"));
  EXPECT_EQ(viz::text_width("1111"), viz::text_width("8888"));
  EXPECT_EQ(viz::text_width("ab", 3), 3 * viz::text_width("ab"));
  EXPECT_EQ(viz::text_width(""), 0);
  EXPECT_EQ(viz::text_height(2), 18);
  // Bytes outside printable ASCII draw as '?', not as nothing.
  EXPECT_EQ(viz::text_width("\x01"), viz::text_width("?"));
}

// ---- line plot ------------------------------------------------------------------------

Series flat(double y, uint32_t color, const std::string& label = "") {
  Series s;
  s.label = label;
  s.x = {0, 0.25, 0.5, 0.75, 1};
  s.y.assign(5, y);
  s.color = color;
  return s;
}

LinePlot unit_square_plot() {
  LinePlot p;
  p.title = "test";
  p.x_label = "x";
  p.y_label = "y";
  p.x_min = 0;
  p.x_max = 1;
  p.y_min = 0;
  p.y_max = 1;
  return p;
}

TEST(LinePlot, HorizontalLinesLandInThinBandsAtTheirValues) {
  LinePlot p = unit_square_plot();
  p.series = {flat(0, 0x00FF00), flat(0.5, 0xFF0000), flat(1, 0x0000FF)};
  Image im = viz::render_line_plot(p);
  ASSERT_EQ(im.width, 800);
  ASSERT_EQ(im.height, 500);
  // A line spans most of the plot's width; anything shorter is not the line.
  std::vector<int> low = rows_with(im, 0x00FF00, 400), mid = rows_with(im, 0xFF0000, 400),
                   high = rows_with(im, 0x0000FF, 400);
  for (const auto* band : {&low, &mid, &high}) {
    ASSERT_FALSE(band->empty());
    EXPECT_GE(band->size(), 2u) << "lines are 2 px thick";
    EXPECT_LE(band->size(), 3u) << "lines are 2 px thick";
    EXPECT_EQ(band->back() - band->front() + 1, static_cast<int>(band->size())) << "band is not contiguous";
  }
  EXPECT_LT(high.front(), mid.front());  // y grows upward
  EXPECT_LT(mid.back(), low.front());
  EXPECT_NEAR(mean(mid), (mean(low) + mean(high)) / 2, 1.0);
  EXPECT_GT(mean(low) - mean(high), 300) << "the plot area should fill most of the height";
}

TEST(LinePlot, NonFiniteValuesBreakTheLine) {
  LinePlot p = unit_square_plot();
  Series s;
  s.color = 0xFF0000;
  for (int i = 0; i <= 10; ++i) {
    s.x.push_back(i / 10.0);
    s.y.push_back(i == 5 ? kNaN : 0.5);
  }
  s.x[8] = std::numeric_limits<double>::infinity();
  p.series = {s};
  Image im = viz::render_line_plot(p);
  std::vector<int> band = rows_with(im, 0xFF0000, 50);
  ASSERT_FALSE(band.empty());
  int y0 = band.front(), y1 = band.back() + 1;
  int left = im.width, right = -1;
  for (int x = 0; x < im.width; ++x)
    if (count_color(im, 0xFF0000, x, y0, x + 1, y1) > 0) {
      left = std::min(left, x);
      right = std::max(right, x);
    }
  ASSERT_LT(left, right);
  auto at = [&](double fx) {
    int x = left + static_cast<int>(std::lround(fx * (right - left)));
    return count_color(im, 0xFF0000, x - 1, y0, x + 2, y1);
  };
  EXPECT_GT(at(0.2), 0);
  EXPECT_EQ(at(0.45), 0) << "the NaN at x = 0.5 must leave a gap from 0.4 to 0.6";
  EXPECT_EQ(at(0.55), 0);
  EXPECT_GT(at(0.65), 0);
  EXPECT_EQ(at(0.75), 0) << "the inf at index 8 must leave a gap from 0.7 to 0.9";
  EXPECT_GT(at(0.95), 0);
}

TEST(LinePlot, LegendShowsEachLabelBesideItsColourAwayFromTheData) {
  LinePlot p = unit_square_plot();
  Series rising;
  rising.label = "train loss";
  rising.color = 0xFF0000;
  rising.x = {0, 1};
  rising.y = {0, 1};
  Series along_top = flat(0.95, 0x0000FF, "eval loss");
  along_top.x = {0, 0.5};
  along_top.y = {0.95, 0.95};
  p.series = {rising, along_top};
  Image im = viz::render_line_plot(p);

  for (const Series& s : p.series) {
    Found f = find_text(im, s.label, 2);
    ASSERT_TRUE(f.found) << "legend label '" << s.label << "' not found";
    EXPECT_NE(f.color, s.color);
    // The swatch sits just left of the label, on the same text line.
    EXPECT_GT(count_color(im, s.color, f.x - 36, f.y, f.x - 2, f.y + viz::text_height(2)), 10) << s.label;
    // The data runs through the bottom-left and top-right corners and along the top
    // left, so the legend belongs at the bottom right.
    EXPECT_GT(f.x, im.width / 2) << s.label;
    EXPECT_GT(f.y, im.height / 2) << s.label;
  }

  // Unlabelled series get no legend.
  p.series[0].label = p.series[1].label = "";
  Image bare = viz::render_line_plot(p);
  EXPECT_FALSE(find_text(bare, "train loss", 2).found);
}

TEST(LinePlot, LegendMovesBesideThePlotWhenEveryCornerHasData) {
  LinePlot p = unit_square_plot();
  Series ring;  // a loop just inside the frame, through all four corners
  ring.label = "ring";
  ring.color = 0xFF0000;
  ring.x = {0, 1, 1, 0, 0};
  ring.y = {0.04, 0.04, 0.96, 0.96, 0.04};
  p.series = {ring};
  Image im = viz::render_line_plot(p);
  int rightmost = -1;
  for (int y = 0; y < im.height; ++y)
    for (int x = 0; x < im.width; ++x)
      if (im.get(x, y) == 0xFF0000 && count_color(im, 0xFF0000, x, y - 40, x + 1, y + 40) > 40)
        rightmost = std::max(rightmost, x);  // the ring's right side, not the legend swatch
  Found f = find_text(im, "ring", 2);
  ASSERT_TRUE(f.found);
  EXPECT_GT(f.x, rightmost);
}

TEST(LinePlot, AutoColoursFollowThePalette) {
  LinePlot p = unit_square_plot();
  p.series = {flat(0.25, 0), flat(0.75, 0)};
  Image im = viz::render_line_plot(p);
  EXPECT_FALSE(rows_with(im, viz::palette_color(0), 400).empty());
  EXPECT_FALSE(rows_with(im, viz::palette_color(1), 400).empty());
  EXPECT_NE(viz::palette_color(0), viz::palette_color(1));
}

TEST(LinePlot, LogAxesPlaceDecadesEvenly) {
  LinePlot p;
  p.log_x = true;
  Series s;
  s.color = 0xFF0000;
  s.points = true;
  s.line = false;
  s.x = {10, 100, 1000};
  s.y = {1, 1, 1};
  p.series = {s};
  Image im = viz::render_line_plot(p);
  std::vector<int> columns;
  for (int x = 0; x < im.width; ++x) {
    // Column centres of the three markers.
    bool here = count_color(im, 0xFF0000, x, 0, x + 1, im.height) > 0;
    bool before = x > 0 && count_color(im, 0xFF0000, x - 1, 0, x, im.height) > 0;
    if (here && !before) columns.push_back(x);
  }
  ASSERT_EQ(columns.size(), 3u);
  EXPECT_NEAR(columns[1] - columns[0], columns[2] - columns[1], 1);
  EXPECT_TRUE(find_text(im, "1k", 2).found) << "log ticks are labelled 10, 100, 1k";
}

TEST(LinePlot, WriteLinePlotWritesTheRenderedImage) {
  TempDir dir("line_plot");
  LinePlot p = unit_square_plot();
  p.series = {flat(0.5, 0xFF0000, "half")};
  viz::write_line_plot(dir.path + "/plot.png", p);
  Image back = decode_png(read_text_file(dir.path + "/plot.png"));
  EXPECT_EQ(back.rgb, viz::render_line_plot(p).rgb);
}

TEST(LinePlot, RejectsBadInput) {
  auto fails = [](const LinePlot& p) { return error_of([&] { viz::render_line_plot(p); }); };
  LinePlot p = unit_square_plot();
  EXPECT_NE(fails(p).find("no series"), std::string::npos);

  p.series = {flat(0.5, 0, "loss")};
  p.series[0].y.pop_back();
  EXPECT_NE(fails(p).find("series 'loss' has 5 x values but 4 y values"), std::string::npos) << fails(p);

  p.series = {Series{}};
  EXPECT_NE(fails(p).find("series 0 is empty"), std::string::npos) << fails(p);

  p.series = {flat(kNaN, 0)};
  EXPECT_NE(fails(p).find("no finite points"), std::string::npos) << fails(p);

  p = unit_square_plot();
  p.y_min.reset();
  p.log_y = true;
  p.series = {flat(0.5, 0)};
  p.series[0].y[2] = 0;
  EXPECT_NE(fails(p).find("y[2] = 0"), std::string::npos) << fails(p);
  EXPECT_NE(fails(p).find("logarithmic"), std::string::npos);
  p.series[0].y[2] = kNaN;  // skipped, not an error
  EXPECT_EQ(fails(p), "");
  p.y_min = 0;
  EXPECT_NE(fails(p).find("y_min is 0"), std::string::npos) << fails(p);

  p = unit_square_plot();
  p.series = {flat(0.5, 0)};
  p.y_min = 2;
  EXPECT_NE(fails(p).find("y_min 2 is not below y_max 1"), std::string::npos) << fails(p);

  p = unit_square_plot();
  p.series = {flat(0.5, 0)};
  p.x_ticks = {0, 1};
  p.x_tick_labels = {"a"};
  EXPECT_NE(fails(p).find("2 x ticks but 1 x tick labels"), std::string::npos) << fails(p);

  p = unit_square_plot();
  p.series = {flat(0.5, 0)};
  p.width = 50;
  EXPECT_THROW(viz::render_line_plot(p), Error);
}

TEST(LinePlot, CopesWithDegenerateData) {
  // One point, a constant series, negative and huge values: all render without error.
  LinePlot p;
  p.series = {Series{"one", {3}, {7}}};
  EXPECT_NO_THROW(viz::render_line_plot(p));
  p.series = {Series{"flat", {0, 1, 2}, {5, 5, 5}}};
  EXPECT_NO_THROW(viz::render_line_plot(p));
  p.series = {Series{"wide", {-1e12, 1e12}, {-3e-9, 4e-9}}};
  EXPECT_NO_THROW(viz::render_line_plot(p));
  // A point far outside fixed limits is clipped, not rasterised across the universe.
  p = unit_square_plot();
  p.series = {Series{"far", {0, 1}, {0, 1e300}}};
  EXPECT_NO_THROW(viz::render_line_plot(p));
}

// ---- heatmap --------------------------------------------------------------------------

TEST(Heatmap, ColourScaleRunsRedThroughYellowToGreen) {
  auto r = [](uint32_t c) { return static_cast<int>(c >> 16 & 0xFF); };
  auto g = [](uint32_t c) { return static_cast<int>(c >> 8 & 0xFF); };
  auto b = [](uint32_t c) { return static_cast<int>(c & 0xFF); };
  uint32_t low = viz::heatmap_color(0), mid = viz::heatmap_color(0.5), high = viz::heatmap_color(1);
  EXPECT_GT(r(low), 2 * g(low));
  EXPECT_GT(r(mid), 200);
  EXPECT_GT(g(mid), 200);
  EXPECT_GT(g(high), 2 * r(high));
  EXPECT_LT(b(mid), 255);
  int previous = -1000;
  for (int i = 0; i <= 100; ++i) {
    uint32_t c = viz::heatmap_color(i / 100.0);
    EXPECT_GT(g(c) - r(c), previous) << "at t = " << i / 100.0;
    previous = g(c) - r(c);
  }
  EXPECT_EQ(viz::heatmap_color(-3), low);
  EXPECT_EQ(viz::heatmap_color(7), high);
}

TEST(Heatmap, CellColoursAreMonotoneInValue) {
  Heatmap h;
  h.annotate = false;
  h.values = {{}};
  for (int i = 0; i <= 10; ++i) h.values[0].push_back(i / 10.0);
  h.x_ticks = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"};
  h.y_ticks = {"row"};
  Image im = viz::render_heatmap(h);
  // The cells come first from the left (the colour bar is to their right), so the first
  // column holding a value's colour is its cell's left edge.
  int previous_x = -1, previous_g_minus_r = -1000;
  for (double v : h.values[0]) {
    uint32_t c = viz::heatmap_color(v);
    int first_x = -1;
    for (int x = 0; x < im.width && first_x < 0; ++x)
      if (count_color(im, c, x, 0, x + 1, im.height) > 0) first_x = x;
    ASSERT_GE(first_x, 0) << "no cell coloured for " << v;
    EXPECT_GT(first_x, previous_x) << "value " << v;
    // Each cell is a solid block, not a stray pixel.
    EXPECT_GT(count_color(im, c, first_x, 0, first_x + 20, im.height), 300) << "value " << v;
    int g_minus_r = static_cast<int>(c >> 8 & 0xFF) - static_cast<int>(c >> 16 & 0xFF);
    EXPECT_GT(g_minus_r, previous_g_minus_r);
    previous_x = first_x;
    previous_g_minus_r = g_minus_r;
  }
}

TEST(Heatmap, AnnotatesCellsInTheChosenFormat) {
  Heatmap h;
  h.title = "passkey";
  h.values = {{0.97, 0.5}, {kNaN, 0.0}};
  h.x_ticks = {"1K", "2K"};
  h.y_ticks = {"0%", "50%"};
  Image im = viz::render_heatmap(h);
  EXPECT_TRUE(find_text(im, "97", 2).found);
  EXPECT_TRUE(find_text(im, "50", 2).found);
  EXPECT_TRUE(find_text(im, "100%", 2).found) << "colour bar maximum";
  EXPECT_GT(count_color(im, 0xDDDDDD, 0, 0, im.width, im.height), 200) << "a NaN cell is grey";

  h.value_format = "fixed2";
  Image fixed = viz::render_heatmap(h);
  EXPECT_TRUE(find_text(fixed, "0.97", 2).found);
  EXPECT_TRUE(find_text(fixed, "1.00", 2).found) << "colour bar maximum";

  h.annotate = false;
  EXPECT_FALSE(find_text(viz::render_heatmap(h), "0.97", 2).found);
}

TEST(Heatmap, WriteHeatmapWritesTheRenderedImage) {
  TempDir dir("heatmap");
  Heatmap h;
  h.values = {{0.1, 0.9}};
  viz::write_heatmap(dir.path + "/heat.png", h);
  Image back = decode_png(read_text_file(dir.path + "/heat.png"));
  EXPECT_EQ(back.rgb, viz::render_heatmap(h).rgb);
}

TEST(Heatmap, RejectsBadInput) {
  auto fails = [](const Heatmap& h) { return error_of([&] { viz::render_heatmap(h); }); };
  Heatmap h;
  EXPECT_NE(fails(h).find("no rows"), std::string::npos);
  h.values = {{}};
  EXPECT_NE(fails(h).find("empty row 0"), std::string::npos);
  h.values = {{0.1, 0.2}, {0.3}};
  EXPECT_NE(fails(h).find("ragged: row 1 has 1 values, row 0 has 2"), std::string::npos) << fails(h);
  h.values = {{0.1, 0.2}, {0.3, 0.4}};
  h.x_ticks = {"1K"};
  EXPECT_NE(fails(h).find("2 columns but 1 x ticks"), std::string::npos) << fails(h);
  h.x_ticks.clear();
  h.y_ticks = {"a", "b", "c"};
  EXPECT_NE(fails(h).find("2 rows but 3 y ticks"), std::string::npos) << fails(h);
  h.y_ticks.clear();
  h.v_min = 1;
  EXPECT_NE(fails(h).find("v_min < v_max"), std::string::npos) << fails(h);
  h.v_min = 0;
  h.value_format = "percentage";
  EXPECT_NE(fails(h).find("unknown value_format 'percentage'"), std::string::npos) << fails(h);
  h.value_format = "fixed2";
  EXPECT_EQ(fails(h), "");
}

}  // namespace
}  // namespace drt
