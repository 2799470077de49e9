// An RGB raster and a minimal PNG writer (8-bit RGB, no interlace, zlib via compress2),
// enough for the plots in viz/plot.h without an image-library dependency.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace drt::viz {

// Colours are 0xRRGGBB throughout viz/.
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;  // [height, width, 3], top row first

  Image() = default;
  Image(int width, int height, uint32_t background = 0xFFFFFF);

  bool contains(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  // Drawing code clips freely, so set() ignores pixels outside the image.
  void set(int x, int y, uint8_t r, uint8_t g, uint8_t b);
  void set(int x, int y, uint32_t color);
  // Checked: throws drt::Error outside the image.
  uint32_t get(int x, int y) const;
  // Clipped to the image; empty when w or h <= 0.
  void fill_rect(int x, int y, int w, int h, uint32_t color);
};

// The bytes of a PNG file: signature, IHDR, one IDAT (every row with filter 0), IEND.
std::string encode_png(const Image& image);
// encode_png written atomically (temp file + rename).
void write_png(const std::string& path, const Image& image);

}  // namespace drt::viz
