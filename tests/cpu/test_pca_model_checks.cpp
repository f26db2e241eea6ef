// MODEL.json is validated when it is read, and every problem blames the model file.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "playaug/error.hpp"
#include "playaug/pca.hpp"

namespace {

using playaug::pca_model;

/// A valid 3-feature model keeping 2 components (rotated in the a-b plane).
nlohmann::json good_model() {
  const double c = std::sqrt(0.5);
  return {{"format", "playaug-pca"},
          {"version", 1},
          {"feature_names", {"a", "b", "c"}},
          {"n_samples", 10},
          {"mean", {1.0, -2.0, 0.5}},
          {"scale", {1.0, 2.0, 0.25}},
          {"eigenvalues", {3.0, 1.0, 0.0}},
          {"explained_variance_ratio", {0.75, 0.25, 0.0}},
          {"n_components", 2},
          {"components", {{c, c, 0.0}, {-c, c, 0.0}}}};
}

/// The message from_json throws for `j`, or "" when it accepts it.
std::string rejection(const nlohmann::json& j) {
  try {
    (void)pca_model::from_json(j.dump(), "model.json");
  } catch (const playaug::data_error& e) {
    EXPECT_EQ(e.file(), "model.json");
    EXPECT_EQ(std::string(e.what()).rfind("model.json: invalid PCA model: ", 0), 0u) << e.what();
    return e.what();
  }
  return "";
}

TEST(PcaModelChecks, AcceptsAValidModel) {
  EXPECT_EQ(rejection(good_model()), "");
  const pca_model m = pca_model::from_json(good_model().dump(), "model.json");
  EXPECT_EQ(m.dim(), 3u);
  EXPECT_EQ(m.n_components, 2u);
}

TEST(PcaModelChecks, RejectsATinyScaleAndNamesTheEntry) {
  auto j = good_model();
  j["scale"][1] = 1e-300;
  const std::string why = rejection(j);
  EXPECT_NE(why.find("\"scale\" entry 2 (b) is 1e-300"), std::string::npos) << why;
  EXPECT_NE(why.find("1e-30"), std::string::npos) << why;
  // The documented threshold itself is accepted; just below it is not.
  j["scale"][1] = pca_model::min_scale;
  EXPECT_EQ(rejection(j), "");
  j["scale"][1] = pca_model::min_scale * 0.999;
  EXPECT_NE(rejection(j), "");
  j["scale"][1] = -1.0;
  EXPECT_NE(rejection(j).find("\"scale\" entry 2"), std::string::npos);
  j["scale"][1] = 1e39;  // beyond float range
  EXPECT_NE(rejection(j).find("\"scale\" entry 2"), std::string::npos);
}

TEST(PcaModelChecks, RejectsAMeanBeyondFloatRange) {
  auto j = good_model();
  j["mean"][2] = -1e300;
  const std::string why = rejection(j);
  EXPECT_NE(why.find("\"mean\" entry 3 (c) is -1e+300"), std::string::npos) << why;
  j["mean"][2] = -3.0e38;  // within float range
  EXPECT_EQ(rejection(j), "");
}

TEST(PcaModelChecks, RejectsComponentsThatAreNotOrthonormal) {
  auto j = good_model();
  j["components"][0] = {2.0, 0.0, 0.0};
  EXPECT_NE(rejection(j).find("\"components\" row 1 has length 2, not 1"), std::string::npos);
  j = good_model();
  j["components"][1] = {1.0, 0.0, 0.0};
  EXPECT_NE(rejection(j).find("rows 1 and 2 are not orthogonal"), std::string::npos) << rejection(j);
  j = good_model();
  j["components"][0] = {0.0, 0.0, 0.0};
  EXPECT_NE(rejection(j).find("row 1 has length 0"), std::string::npos);
  // Rounding well inside the tolerance is fine.
  j = good_model();
  j["components"][0] = {std::sqrt(0.5) + 1e-9, std::sqrt(0.5), 0.0};
  EXPECT_EQ(rejection(j), "");
}

TEST(PcaModelChecks, RejectsDuplicateFeatureNames) {
  auto j = good_model();
  j["feature_names"] = {"a", "b", "a"};
  EXPECT_NE(rejection(j).find("\"feature_names\" holds 'a' twice"), std::string::npos);
  j["feature_names"] = {"a", "\x1B[2J", "\x1B[2J"};
  const std::string why = rejection(j);
  EXPECT_EQ(why.find('\x1B'), std::string::npos) << why;
  EXPECT_NE(why.find("'\\e[2J' twice"), std::string::npos) << why;
}

TEST(PcaModelChecks, RejectsRatiosOutsideTheUnitInterval) {
  auto j = good_model();
  j["explained_variance_ratio"][0] = 1.5;
  EXPECT_NE(rejection(j).find("\"explained_variance_ratio\" entry 1 (a) is outside [0, 1]"), std::string::npos);
  j["explained_variance_ratio"][0] = -0.1;
  EXPECT_NE(rejection(j), "");
}

TEST(PcaModelChecks, AFittedModelPassesItsOwnChecks) {
  // Shortest round-trip numbers: a model saved by fit-pca reads back exactly.
  const pca_model m = pca_model::from_json(good_model().dump(), "model.json");
  const pca_model back = pca_model::from_json(m.to_json(), "model.json");
  EXPECT_EQ(back.components, m.components);
  EXPECT_EQ(back.scale, m.scale);
}

}  // namespace
