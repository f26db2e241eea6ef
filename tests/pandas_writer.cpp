// Helper of the pandas_compat test (scripts/check_pandas_load.py).
//
//   playaug_pandas_writer write OUT.csv EXPECTED.json   write a tricky dataset with
//                                                       write_csv, and its values as JSON
//   playaug_pandas_writer read IN.csv GOT.json          read a CSV with read_csv and dump
//                                                       its values in the same JSON layout
//
// The JSON layout: {"dim": d, "playlists": [{"id", "null", "moods": [[int]], "features":
// [[float32 bits as uint32]], "track_ids": [str] or absent}]}. Floats travel as their bit
// patterns so that the check is exact.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "playaug/error.hpp"
#include "playaug/io.hpp"

namespace {

using playaug::dataset;

dataset tricky_dataset() {
  const std::size_t dim = 11;
  dataset ds;
  ds.dim = dim;
  ds.schema = playaug::feature_schema::for_dim(dim);
  std::mt19937 rng(2024);
  const std::vector<std::string> odd_ids = {
      "iso26", "a,b", "say \"hi\"", "two\nlines", "tab\there", "caf\xC3\xA9 \xE2\x99\xAB", " spaced ", "[1, 2]",
      "semi;colon", "quote\"at,end\""};
  std::vector<float> feats;
  for (std::size_t p = 0; p < 60; ++p) {
    std::string id = p < odd_ids.size() ? odd_ids[p] : "pl" + std::to_string(p);
    std::size_t songs = rng() % 6;
    bool null = false;
    if (p % 9 == 4) {
      songs = 0;
      null = true;
    } else if (p % 9 == 7) {
      songs = 0;  // `[]`
    }
    std::vector<std::vector<std::int32_t>> segs(rng() % 4);
    for (auto& s : segs) {
      s.resize(rng() % 3);
      for (auto& m : s) m = static_cast<std::int32_t>(rng() % 64) - (p == 3 ? 2000000000 : 0);
    }
    feats.clear();
    for (std::size_t i = 0; i < songs * dim; ++i) {
      float v;
      switch (rng() % 4) {
        case 0: {  // any finite float32, subnormals and extremes included
          do {
            const std::uint32_t bits = static_cast<std::uint32_t>(rng());
            std::memcpy(&v, &bits, sizeof v);
          } while (!std::isfinite(v));
          break;
        }
        case 1: v = static_cast<float>(rng() % 1000) / 1000.0f; break;        // like Spotify's [0, 1] features
        case 2: v = -static_cast<float>(rng() % 60000) / 1000.0f; break;      // loudness
        default: v = static_cast<float>(static_cast<int>(rng() % 13) - 1); break;  // key, mode: integral
      }
      if (p == 5 && i == 0) v = -0.0f;
      feats.push_back(v);
    }
    ds.add_playlist(id, segs, feats.data(), songs, null);
    for (std::size_t i = 0; i < songs; ++i) {
      ds.track_ids.push_back(i % 4 == 1 ? "t \"q\" \\ / caf\xC3\xA9\n" + std::to_string(p) : "6DCZcSspjsKoFjzjrWoC" + std::to_string(i));
    }
  }
  return ds;
}

nlohmann::json to_json(const dataset& ds) {
  nlohmann::json out;
  out["dim"] = ds.dim;
  auto& pls = out["playlists"] = nlohmann::json::array();
  for (std::size_t p = 0; p < ds.playlists(); ++p) {
    nlohmann::json pl;
    pl["id"] = ds.ids[p];
    pl["null"] = ds.is_null(p);
    auto& moods = pl["moods"] = nlohmann::json::array();
    for (auto s = ds.segment_offsets[p]; s < ds.segment_offsets[p + 1]; ++s) {
      auto seg = nlohmann::json::array();
      for (auto m = ds.mood_offsets[s]; m < ds.mood_offsets[s + 1]; ++m) seg.push_back(ds.moods[m]);
      moods.push_back(seg);
    }
    auto& feats = pl["features"] = nlohmann::json::array();
    for (auto i = ds.song_offsets[p]; i < ds.song_offsets[p + 1]; ++i) {
      auto song = nlohmann::json::array();
      for (std::size_t j = 0; j < ds.dim; ++j) {
        std::uint32_t bits;
        std::memcpy(&bits, &ds.features[i * ds.dim + j], sizeof bits);
        song.push_back(bits);
      }
      feats.push_back(song);
    }
    if (!ds.track_ids.empty()) {
      auto& t = pl["track_ids"] = nlohmann::json::array();
      for (auto i = ds.song_offsets[p]; i < ds.song_offsets[p + 1]; ++i) t.push_back(ds.track_ids[i]);
    }
    pls.push_back(std::move(pl));
  }
  return out;
}

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path, std::ios::binary);
  out << j.dump(1) << '\n';
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " write OUT.csv EXPECTED.json | read IN.csv GOT.json\n";
    return 2;
  }
  const std::string mode = argv[1];
  try {
    if (mode == "write") {
      const dataset ds = tricky_dataset();
      playaug::write_csv(argv[2], ds);
      write_json(argv[3], to_json(ds));
    } else if (mode == "read") {
      write_json(argv[3], to_json(playaug::read_csv(argv[2])));
    } else {
      std::cerr << "unknown mode " << mode << "\n";
      return 2;
    }
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
