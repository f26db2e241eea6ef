// requery_each_genre() on the CUDA engine against the CPU engine: every genre's
// sub-catalog searched on the device (uploaded once per genre and reused across chunks)
// gives the same rows and the same counts as on the CPU.

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/requery.hpp"
#include "test_support.hpp"

namespace {

using namespace playaug;

TEST(RequeryEachGenreGpu, IdenticalToTheCpuEngineAcrossChunks) {
  PLAYAUG_REQUIRE_GPU();
  const auto cat = std::make_shared<const track_catalog>(read_catalog(test::fixture("requery/synthetic_catalog.csv")));
  // Songs: catalog rows, some repeated within a playlist to force second choices, and
  // playlists longer than a genre's tracks so that copies are left out.
  std::mt19937 rng(17);
  auto chunk = [&](int from, int to) {
    dataset in;
    in.dim = 11;
    in.schema = feature_schema::spotify();
    for (int p = from; p < to; ++p) {
      const std::size_t n = p % 37 == 5 ? 90 : 1 + rng() % 15;
      std::vector<float> f;
      for (std::size_t s = 0; s < n; ++s) {
        const std::size_t r = s > 0 && rng() % 3 == 0 ? (rng() % 3) : rng() % cat->size();
        f.insert(f.end(), cat->features.data() + r * 11, cat->features.data() + r * 11 + 11);
      }
      in.add_playlist("p" + std::to_string(p), {{p % 7}}, f.data(), n);
    }
    return in;
  };
  const dataset a = chunk(0, 150), b = chunk(150, 300);
  const genre_recommenders on_cpu = genre_recommenders::from_catalog(cat);
  const genre_recommenders on_gpu = genre_recommenders::from_catalog(cat);
  const resources cpu(backend::cpu), gpu(backend::cuda);
  for (const bool repeats : {false, true}) {
    requery_params prm;
    prm.seed = 23;
    prm.allow_repeats = repeats;
    requery_summary sc, sg;
    for (const dataset* in : {&a, &b}) {
      const std::uint64_t first = in == &a ? 0 : 150;
      const dataset x = requery_each_genre(cpu, *in, on_cpu, prm, first, &sc);
      const dataset y = requery_each_genre(gpu, *in, on_gpu, prm, first, &sg);
      EXPECT_EQ(x.ids, y.ids);
      EXPECT_EQ(x.track_ids, y.track_ids);
      EXPECT_TRUE(x == y);
      ASSERT_EQ(sc.per_genre.size(), sg.per_genre.size());
      for (std::size_t g = 0; g < sc.per_genre.size(); ++g) {
        EXPECT_TRUE(sc.per_genre[g] == sg.per_genre[g]) << sc.genres[g];
        if (!repeats) EXPECT_GT(sc.per_genre[g].left_out, 0u) << sc.genres[g];
      }
    }
  }
}

}  // namespace
