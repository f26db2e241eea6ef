// Seed sets for the Spotify backend: validation, GENRES.json parsing and the built-in
// genres of the research notebook (requery.hpp).

#include <algorithm>
#include <cctype>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/input_file.hpp"
#include "playaug/error.hpp"
#include "playaug/requery.hpp"

namespace playaug {

namespace {

// The content of data/genres.json (a test checks that the two agree): the notebook's 13
// genres, each with its seed artists and tracks and itself as the genre seed.
constexpr const char* kBuiltinGenres = R"json(
{
  "acoustic": {
    "artists": [{"id": "7n2wHs1TKAczGzO7Dd2rGr", "name": "Shawn Mendes"}],
    "tracks": [{"id": "2TitxRtrE8OLcAwcNucvmJ", "name": "Peaches - Acoustic"}, {"id": "4ensio3acJ17PegjBcmXVg", "name": "17 - Acoustic"}],
    "genres": ["acoustic"]
  },
  "blues": {
    "artists": [{"id": "4y6J8jwRAwO4dssiSmN91R", "name": "Muddy Waters"}],
    "tracks": [{"id": "4Hhv2vrOTy89HFRcjU3QOx", "name": "At Last"}],
    "genres": ["blues"]
  },
  "country": {
    "artists": [{"id": "06HL4z0CvFAxyc27GXpf02", "name": "Taylor Swift"}],
    "tracks": [{"id": "2wrJq5XKLnmhRXHIAf9xBa", "name": "10,000 Hours"}, {"id": "7q7jyVU0f0hnod8tsaUmxg", "name": "Speechless"}],
    "genres": ["country"]
  },
  "edm": {
    "artists": [{"id": "7CajNmpbOovFoOoasH2HaY", "name": "Calvin Harris"}, {"id": "1vCWHaC5f2uS3yhpwWbIA6", "name": "Avicii"}],
    "tracks": [{"id": "2P4OICZRVAQcYAV2JReRfj", "name": "Waiting for Love"}],
    "genres": ["edm"]
  },
  "indie": {
    "artists": [{"id": "5mqguTgtaoCMNMZD6txCh6", "name": "Phum Viphurit"}],
    "tracks": [{"id": "1q2Zb0v5ZGxKDktEz7wSPb", "name": "Serotonin"}, {"id": "2rd4FH1cSaWGc0ZiUaMbX9", "name": "Lover Boy"}],
    "genres": ["indie"]
  },
  "pop": {
    "artists": [{"id": "66CXWjxzNUsdJxJ2JdwvnR", "name": "Ariana Grande"}],
    "tracks": [{"id": "6PQ88X9TkUIAUIZJHW2upE", "name": "Bad Habits"}, {"id": "3BZEcbdtXQSo7OrvKRJ6mb", "name": "MONTERO"}],
    "genres": ["pop"]
  },
  "r-n-b": {
    "artists": [{"id": "5cj0lLjcoR7YOSnhnX0Po5", "name": "Doja Cat"}],
    "tracks": [{"id": "3XFY3bKOme4E3QhJqHS1Pi", "name": "Leave The Door Open"}],
    "genres": ["r-n-b"]
  },
  "reggae": {
    "artists": [{"id": "6GFAZnwXhNER0WS76WMpS4", "name": "Bob Andy"}],
    "tracks": [{"id": "1haHZa75ytryLGUOtHiGl5", "name": "Dream Land"}],
    "genres": ["reggae"]
  },
  "rock": {
    "artists": [{"id": "3WrFJ7ztbogyGnTHbHJFl2", "name": "The Beatles"}],
    "tracks": [{"id": "7i6r9KotUPQg3ozKKgEPIN", "name": "Seven Nation Army"}],
    "genres": ["rock"]
  },
  "sleep": {
    "artists": [{"id": "0LzWeBGGtEazh0mJmyxFXi", "name": "Chandeller"}],
    "tracks": [{"id": "2DsYcmzLobaT4BLM6qoeds", "name": "For You Always"}],
    "genres": ["sleep"]
  },
  "soundtracks": {
    "artists": [{"id": "3dRfiJ2650SZu6GbydcHNb", "name": "John Williams"}],
    "tracks": [{"id": "4AD2dterIUjNt1LFNI9Bvi", "name": "He's a pirate"}],
    "genres": ["soundtracks"]
  },
  "study": {
    "artists": [{"id": "1iXLcpr2SlUwrU2oCP8nI9", "name": "afternoon bike ride"}],
    "tracks": [{"id": "3J8dqKlO2trb3uRGhcx3ok", "name": "Le Bonheur"}],
    "genres": ["study"]
  },
  "summer": {
    "artists": [{"id": "7CajNmpbOovFoOoasH2HaY", "name": "Calvin Harris"}],
    "tracks": [{"id": "4ZtFanR9U6ndgddUvNcjcG", "name": "good 4 u"}, {"id": "463CkQjx2Zk1yXoBuierM9", "name": "Levitating"}],
    "genres": ["summer"]
  }
}
)json";

bool is_base62(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; });
}

bool is_genre_seed(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

void merge_unique(std::vector<std::string>& into, const std::vector<std::string>& from) {
  for (const auto& s : from) {
    if (std::find(into.begin(), into.end(), s) == into.end()) into.push_back(s);
  }
}

// A list of id strings or {"id": ..., "name": ...} objects.
std::vector<std::string> read_ids(const nlohmann::json& v, const std::string& where, const std::string& name) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  if (!v.is_array()) throw data_error(name, 0, where + " must be a list");
  for (const auto& e : v) {
    if (e.is_string()) {
      out.push_back(e.get<std::string>());
    } else if (e.is_object() && e.contains("id") && e["id"].is_string()) {
      out.push_back(e["id"].get<std::string>());
    } else {
      throw data_error(name, 0, where + ": each entry must be an id string or an object with an \"id\" string");
    }
  }
  return out;
}

}  // namespace

void seed_set::merge(const seed_set& o) {
  merge_unique(artists, o.artists);
  merge_unique(tracks, o.tracks);
  merge_unique(genres, o.genres);
}

void seed_set::validate() const {
  if (size() == 0) throw usage_error("Spotify recommendations need at least one seed artist, track or genre");
  if (size() > 5) {
    throw usage_error("Spotify accepts at most 5 seeds in total, got " + std::to_string(size()) + " (" +
                      std::to_string(artists.size()) + " artists, " + std::to_string(tracks.size()) + " tracks, " +
                      std::to_string(genres.size()) + " genres); choose fewer genres");
  }
  for (const auto& a : artists) {
    if (!is_base62(a)) throw usage_error("seed artist id '" + a + "' is not a Spotify id (base-62)");
  }
  for (const auto& t : tracks) {
    if (!is_base62(t)) throw usage_error("seed track id '" + t + "' is not a Spotify id (base-62)");
  }
  for (const auto& g : genres) {
    if (!is_genre_seed(g)) throw usage_error("seed genre '" + g + "' is not a Spotify genre seed (a-z, 0-9, '-')");
  }
}

genre_seeds genre_seeds::parse(std::string_view text, const std::string& name) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw data_error(name, 0, std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object()) throw data_error(name, 0, "expected a JSON object of genres");
  genre_seeds out;
  out.name_ = name;
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& g = it.key();
    if (!it.value().is_object()) throw data_error(name, 0, "genre '" + g + "' must be an object");
    seed_set s;
    const auto& v = it.value();
    for (auto f = v.begin(); f != v.end(); ++f) {
      if (f.key() != "artists" && f.key() != "tracks" && f.key() != "genres") {
        throw data_error(name, 0, "genre '" + g + "': unknown key '" + f.key() + "' (expected artists, tracks, genres)");
      }
    }
    if (v.contains("artists")) s.artists = read_ids(v["artists"], "genre '" + g + "' artists", name);
    if (v.contains("tracks")) s.tracks = read_ids(v["tracks"], "genre '" + g + "' tracks", name);
    if (v.contains("genres")) s.genres = read_ids(v["genres"], "genre '" + g + "' genres", name);
    try {
      s.validate();
    } catch (const usage_error& e) {
      throw data_error(name, 0, "genre '" + g + "': " + e.what());
    }
    out.sets_.emplace(g, std::move(s));
  }
  if (out.sets_.empty()) throw data_error(name, 0, "no genres defined");
  return out;
}

genre_seeds genre_seeds::read(const std::string& path) {
  // Opened as every input is: a directory or a file that shrinks is named as such.
  const std::string text = io_detail::read_file_text(path, "genres file", std::size_t{256} << 20);
  try {
    return parse(text, path);
  } catch (const nlohmann::json::exception& e) {
    throw data_error(path, 0, e.what());
  } catch (const std::bad_alloc&) {
    throw data_error(path, 0, "out of memory reading the genres file");
  }
}

genre_seeds genre_seeds::builtin() { return parse(kBuiltinGenres, "<built-in genres>"); }

std::vector<std::string> genre_seeds::names() const {
  std::vector<std::string> out;
  for (const auto& [g, s] : sets_) out.push_back(g);
  return out;
}

seed_set genre_seeds::select(const std::vector<std::string>& genres) const {
  seed_set out;
  for (const auto& g : genres) {
    const auto it = sets_.find(g);
    if (it == sets_.end()) {
      std::string known;
      for (const auto& [n, s] : sets_) known += (known.empty() ? "" : ", ") + n;
      throw usage_error("unknown genre '" + g + "' in " + name_ + " (known: " + known + ")");
    }
    out.merge(it->second);
  }
  return out;
}

}  // namespace playaug
