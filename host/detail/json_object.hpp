#pragma once
// The first checks of every model-file reader (pca_model::from_json in host/pca.cpp,
// synth_model::from_json in host/synth_model.cpp): the text is one JSON object that holds
// every required key and no key the format does not know.

#include <initializer_list>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace playaug::detail {

/// `text` parsed as a JSON object. `bad(why)`, which must throw, is called for text that is
/// not JSON, a value that is not an object, a missing key of `required`, and a key that is
/// in neither `required` nor `optional`.
template <std::size_t N, typename Bad>
nlohmann::json parse_json_object(const std::string& text, const char* const (&required)[N],
                                 std::initializer_list<const char*> optional, Bad&& bad) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    bad(std::string("not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object()) bad("not a JSON object");
  for (const char* key : required) {
    if (!j.contains(key)) bad(std::string("missing \"") + key + "\"");
  }
  std::set<std::string> known(std::begin(required), std::end(required));
  known.insert(optional.begin(), optional.end());
  for (const auto& item : j.items()) {
    if (known.count(item.key()) == 0) bad("unknown key \"" + item.key() + "\"");
  }
  return j;
}

}  // namespace playaug::detail
