// One shape for every operation: the precondition helper and its messages, the same
// memory-space checks in every public function, the memory check before a d x d fit, and
// protuberance that overflows float32.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "detail/expects.hpp"
#include "detail/memory.hpp"
#include "playaug/augment.hpp"
#include "playaug/catalog.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/random.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"
#include "test_support.hpp"

namespace {

using namespace playaug;

/// The message of the usage_error that `f` throws ("" and a test failure if it throws none).
template <typename F>
std::string usage_message(F&& f) {
  try {
    f();
  } catch (const usage_error& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a usage_error: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no exception";
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------
// The helper
// ---------------------------------------------------------------------------------------

TEST(Expects, FormatsTheOperationAndEveryPart) {
  EXPECT_NO_THROW(detail::expects(true, "op", "never built ", 1));
  EXPECT_EQ(usage_message([] { detail::expects(false, "fit_pca", "components must be in 1..", std::size_t{11},
                                               ", got ", 12, " (", 0.5, ")"); }),
            "fit_pca: components must be in 1..11, got 12 (0.5)");
  EXPECT_EQ(usage_message([] {
              detail::expect_shape("transform", {"x", 3, "columns"}, {"the model", 4, "features"});
            }),
            "transform: x has 3 columns but the model has 4 features");
  EXPECT_NO_THROW(detail::expect_shape("transform", {"x", 4, "columns"}, {"the model", 4, "features"}));
}

TEST(Expects, NamesNullDataAndMemorySpaces) {
  const resources cpu(backend::cpu, 1);
  float v = 0.0f;
  EXPECT_EQ(usage_message([] { detail::expect_data("op", "x", matrix_view<const float>{nullptr, 2, 3}); }),
            "op: x is null but has 2 x 3 elements");
  EXPECT_EQ(usage_message([] { detail::expect_data("op", "offsets", vector_view<const std::uint64_t>{nullptr, 5}); }),
            "op: offsets is null but has 5 elements");
  EXPECT_NO_THROW(detail::expect_data("op", "x", matrix_view<const float>{nullptr, 0, 3}));
  EXPECT_EQ(usage_message([&] { detail::expect_host_memory(cpu, "op", "x", device_matrix(&v, 1, 1)); }),
            "op: x is in device memory but the backend is the CPU");
  EXPECT_NO_THROW(detail::expect_host_memory(cpu, "op", "x", host_matrix(&v, 1, 1)));
  EXPECT_EQ(usage_message([&] {
              detail::expect_same_space("op", "x", host_matrix(&v, 1, 1), "y", device_matrix(&v, 1, 1));
            }),
            "op: x and y are in different memory spaces");
}

// ---------------------------------------------------------------------------------------
// Every public function refuses device memory on the CPU backend
// ---------------------------------------------------------------------------------------

// The "device" pointers below point at host memory, so an engine that dereferenced them
// would silently compute instead of crashing: only the check makes these calls throw.
struct device_inputs {
  std::vector<float> x = std::vector<float>(4 * 11, 0.5f);
  std::vector<std::uint64_t> offsets{0, 2, 4};
  std::vector<std::uint64_t> segment_offsets{0, 1, 2};
  std::vector<std::uint64_t> mood_offsets{0, 1, 2};
  std::vector<std::int32_t> moods{3, 4};
  std::vector<std::uint8_t> flags{1, 1};
};

TEST(MemorySpace, EveryOperationRefusesDeviceMemoryOnTheCpuBackend) {
  const resources cpu(backend::cpu, 1);
  device_inputs in;
  const auto dev = memory_space::device;
  const matrix_view<float> x{in.x.data(), 4, 11, dev};
  const vector_view<const std::uint64_t> off{in.offsets.data(), in.offsets.size(), dev};

  EXPECT_TRUE(has(usage_message([&] { compute_moments(cpu, x); }), "compute_moments: x is in device memory"));
  EXPECT_TRUE(has(usage_message([&] { fit_pca_per_playlist(cpu, x, off); }),
                  "fit_pca_per_playlist: x is in device memory"));
  EXPECT_TRUE(has(usage_message([&] {
                    protuberance(cpu, x, off, feature_schema::spotify(), protuberance_params{}, 1);
                  }),
                  "protuberance: x is in device memory but the backend is the CPU"));

  playlists_view pl;
  pl.features = x;
  pl.song_offsets = off;
  pl.segment_offsets = {in.segment_offsets.data(), in.segment_offsets.size(), dev};
  pl.mood_offsets = {in.mood_offsets.data(), in.mood_offsets.size(), dev};
  pl.moods = {in.moods.data(), in.moods.size(), dev};
  EXPECT_TRUE(has(usage_message([&] { reverse_playlists(cpu, pl, {in.flags.data(), in.flags.size(), dev}); }),
                  "reverse_playlists: features is in device memory but the backend is the CPU"));
  EXPECT_EQ(in.x, std::vector<float>(4 * 11, 0.5f));  // nothing was touched

  // nearest: every argument is checked, floors only when given.
  std::vector<float> catalog(3 * nn_stride, 0.0f), queries(2 * nn_dim, 0.0f);
  std::vector<nn_hit> out(2), floors(2);
  const matrix_view<const float> cat_h{catalog.data(), 3, nn_stride}, q_h{queries.data(), 2, nn_dim};
  const vector_view<nn_hit> out_h{out.data(), 2};
  EXPECT_TRUE(has(usage_message([&] {
                    nearest(cpu, {catalog.data(), 3, nn_stride, dev}, q_h, {}, out_h);
                  }),
                  "nearest: catalog is in device memory"));
  EXPECT_TRUE(has(usage_message([&] { nearest(cpu, cat_h, {queries.data(), 2, nn_dim, dev}, {}, out_h); }),
                  "nearest: queries is in device memory"));
  EXPECT_TRUE(has(usage_message([&] { nearest(cpu, cat_h, q_h, {}, {out.data(), 2, dev}); }),
                  "nearest: out is in device memory"));
  EXPECT_TRUE(has(usage_message([&] { nearest(cpu, cat_h, q_h, {floors.data(), 2, dev}, out_h); }),
                  "nearest: floors is in device memory"));

  // transform and inverse_transform.
  pca_model m;
  m.mean.assign(11, 0.0);
  m.scale.assign(11, 1.0);
  m.n_components = 1;
  m.components.assign(11, 0.0);
  m.components[0] = 1.0;
  std::vector<float> y(4, 0.0f);
  EXPECT_TRUE(has(usage_message([&] { transform(cpu, m, x, {y.data(), 4, 1, dev}); }),
                  "transform: x is in device memory"));
  EXPECT_TRUE(has(usage_message([&] { inverse_transform(cpu, m, {y.data(), 4, 1, dev}, x); }),
                  "inverse_transform: x is in device memory"));
}

TEST(MemorySpace, MixedSpacesAndShapesNameBothSides) {
  const resources cpu(backend::cpu, 1);
  device_inputs in;
  const matrix_view<float> x{in.x.data(), 4, 11};
  EXPECT_EQ(usage_message([&] {
              protuberance(cpu, x, {in.offsets.data(), in.offsets.size(), memory_space::device},
                           feature_schema::spotify(), protuberance_params{}, 1);
            }),
            "protuberance: x and offsets are in different memory spaces");
  EXPECT_EQ(usage_message([&] {
              protuberance(cpu, {in.x.data(), 4, 10}, {in.offsets.data(), in.offsets.size()},
                           feature_schema::spotify(), protuberance_params{}, 1);
            }),
            "protuberance: x has 10 columns but the schema has 11 features");
  playlists_view pl;
  pl.features = x;
  pl.song_offsets = {in.offsets.data(), in.offsets.size()};
  pl.segment_offsets = {in.segment_offsets.data(), in.segment_offsets.size()};
  pl.mood_offsets = {in.mood_offsets.data(), in.mood_offsets.size()};
  pl.moods = {in.moods.data(), in.moods.size()};
  EXPECT_EQ(usage_message([&] { reverse_playlists(cpu, pl, {in.flags.data(), 1}); }),
            "reverse_playlists: flags has 1 entries but song_offsets has 2 playlists");
  EXPECT_NO_THROW(reverse_playlists(cpu, pl, {in.flags.data(), 2}));
}

// ---------------------------------------------------------------------------------------
// d x d fits are checked before they allocate
// ---------------------------------------------------------------------------------------

TEST(PcaMemory, EstimatesSaturateAndGrowWithTheOutput) {
  EXPECT_EQ(fit_pca_bytes(11), 7u * 11 * 11 * 8);
  EXPECT_EQ(fit_pca_bytes(11, 3), 8u * 11 * 11 * 8);
  EXPECT_EQ(fit_pca_bytes(std::size_t{1} << 40), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(detail::saturating_add(std::numeric_limits<std::uint64_t>::max(), 1),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_GT(allocatable_bytes(), 0u);
  EXPECT_EQ(detail::show_bytes(999), "999 bytes");
  EXPECT_EQ(detail::show_bytes(8'000'000'000'000), "8 TB");
  EXPECT_NO_THROW(check_pca_memory(11));
}

TEST(PcaMemory, AMillionFeaturesAreRefusedWithTheirSizeNotBadAlloc) {
  const std::size_t d = 1000000;
  try {
    check_pca_memory(d, 0, "wide.csv");
    FAIL() << "no exception";
  } catch (const data_error& e) {
    EXPECT_EQ(e.file(), "wide.csv");
    EXPECT_TRUE(has(e.what(), "1000000 features need 1000000 x 1000000 float64 matrices")) << e.what();
    EXPECT_TRUE(has(e.what(), "56 TB")) << e.what();  // 7 x 10^12 x 8 bytes
  }
  // The library entry points refuse before allocating their d x d results.
  const resources cpu(backend::cpu, 1);
  const matrix_view<const float> none{nullptr, 0, d};
  for (const auto& f : std::vector<std::function<void()>>{
           [&] { compute_moments(cpu, none); },
           [&] { fit_pca(cpu, none, pca_options{}, {}); },
           [&] {
             const std::uint64_t off[] = {0};
             fit_pca_per_playlist(cpu, none, {off, 1});
           }}) {
    try {
      f();
      ADD_FAILURE() << "no exception";
    } catch (const std::bad_alloc&) {
      ADD_FAILURE() << "std::bad_alloc";
    } catch (const error& e) {
      EXPECT_TRUE(has(e.what(), "1000000 features")) << e.what();
    }
  }
}

std::string quote(const std::string& s) { return "'" + s + "'"; }

/// Run `sh -c script`; the exit status, stderr in `err`.
int run_shell(const test::temp_dir& dir, const std::string& script, std::string& err) {
  const std::string cmd = "sh -c " + quote(script) + " 2>" + quote(dir.file("stderr.txt"));
  const int status = std::system(cmd.c_str());
  err = test::read_file(dir.file("stderr.txt"));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/// A playlist CSV with one playlist of two songs of d features each.
void write_wide_csv(const std::string& path, std::size_t d) {
  std::ofstream out(path);
  out << ",moods_states,features\nwide,[[1]],\"[";
  for (int s = 0; s < 2; ++s) {
    out << (s == 0 ? "[" : ", [");
    for (std::size_t j = 0; j < d; ++j) out << (j == 0 ? "" : ", ") << (s + j % 7);
    out << "]";
  }
  out << "]\"\n";
}

TEST(PcaMemory, FitPcaCommandNamesTheFileAndTheFeatureCount) {
  if (test::cli_path().empty()) GTEST_SKIP() << "CLI not built";
  const test::temp_dir dir;
  const std::string csv = dir.file("wide.csv");
  write_wide_csv(csv, 200000);  // 7 x (2e5)^2 x 8 bytes = 2.24 TB
  std::string err;
  for (const char* extra : {"", " --per-playlist"}) {
    const int rc = run_shell(dir, test::cli_path() + " fit-pca " + csv + " -o " + dir.file("m.json") +
                                      " --device cpu" + extra, err);
    EXPECT_EQ(rc, 1) << err;
    EXPECT_TRUE(has(err, csv + ":")) << err;
    EXPECT_TRUE(has(err, "200000 features need 200000 x 200000 float64 matrices")) << err;
    EXPECT_FALSE(has(err, "bad_alloc")) << err;
    EXPECT_EQ(dir.entries(), (std::set<std::string>{"wide.csv", "stderr.txt"}));
  }
}

TEST(PcaMemory, AMemoryLimitedFitIsRefusedBeforeItAllocates) {
  if (test::cli_path().empty()) GTEST_SKIP() << "CLI not built";
  if (PLAYAUG_UNDER_ASAN) GTEST_SKIP() << "AddressSanitizer cannot run under ulimit -v (it reserves terabytes)";
  const test::temp_dir dir;
  const std::string csv = dir.file("wide.csv");
  write_wide_csv(csv, 8000);  // 7 x 8000^2 x 8 bytes = 3.58 GB, more than the 2 GB limit
  std::string err;
  const int rc = run_shell(dir, "ulimit -v 2000000 && " + test::cli_path() + " fit-pca " + csv + " -o " +
                                    dir.file("m.json") + " --device cpu", err);
  EXPECT_EQ(rc, 1) << err;
  EXPECT_TRUE(has(err, csv + ": cannot fit a PCA: 8000 features")) << err;
  EXPECT_TRUE(has(err, "3.58 GB in all, but this process may allocate about 2.05 GB")) << err;
  EXPECT_FALSE(has(err, "bad_alloc")) << err;
}

// ---------------------------------------------------------------------------------------
// Protuberance near the float32 maximum saturates, the same in protuberate() and the engine
// ---------------------------------------------------------------------------------------

/// A word whose uniform01 is chosen (r <= phi) and gives u > 0 (grow) or u < 0 (shrink).
std::uint32_t word_with(float phi, bool grow) {
  for (std::uint32_t w = 1;; w += 7919) {
    const float r = uniform01(w);
    if (r <= phi && ((r / phi > 0.75f) == grow) && (grow || r / phi < 0.25f)) return w;
  }
}

TEST(ProtuberanceOverflow, SaturatesToTheLargestFloat) {
  const float big = std::numeric_limits<float>::max();
  const std::uint32_t up = word_with(0.5f, true), down = word_with(0.5f, false);
  EXPECT_EQ(max_finite_float, big);
  EXPECT_EQ(protuberate(3.4e38f, up, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0), big);
  EXPECT_EQ(protuberate(-3.4e38f, up, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0), -big);
  EXPECT_EQ(protuberate(big, up, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0), big);
  // Shrinking near the maximum does not overflow and is not saturated.
  const float shrunk = protuberate(3.4e38f, down, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0);
  EXPECT_LT(shrunk, 3.4e38f);
  EXPECT_GT(shrunk, 2.8e38f);
  // An infinite input stays infinite, NaN stays NaN; ordinary values are unaffected.
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(protuberate(inf, up, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0), inf);
  EXPECT_EQ(protuberate(-inf, up, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0), -inf);
  EXPECT_TRUE(std::isnan(protuberate(std::nanf(""), up, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0)));
  // The documented recipe: u = min(r * fl(2p / phi) - p, p), each operation rounded.
  const float u = std::min(uniform01(up) * (0.3f / 0.5f) - 0.15f, 0.15f);
  EXPECT_EQ(protuberate(2.0f, up, make_protuberance_constants(0.15f, 0.5f), feature_rule::free, 0, 0), 2.0f * (1.0f + u));
}

TEST(ProtuberanceOverflow, TheCpuEngineMatchesProtuberateNearTheMaximum) {
  const std::size_t songs = 257, d = 11;
  std::vector<float> x(songs * d);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float mag = i % 3 == 0 ? 3.4e38f : (i % 3 == 1 ? 3.0e38f : 1.0f + static_cast<float>(i));
    x[i] = i % 2 == 0 ? mag : -mag;
  }
  const std::vector<std::uint64_t> offsets{0, 100, 257};
  protuberance_params prm;
  prm.raw = true;
  prm.phi = 1.0f;
  prm.seed = 42;
  std::vector<float> got = x;
  for (const int threads : {1, 2}) {
    got = x;
    protuberance(resources(backend::cpu, threads), {got.data(), songs, d}, {offsets.data(), offsets.size()},
                 feature_schema::for_dim(d), prm, 3);
    std::size_t saturated = 0;
    for (std::size_t p = 0; p + 1 < offsets.size(); ++p) {
      const std::uint64_t sub = stream_subsequence(purpose::protuberance, 3, static_cast<std::uint32_t>(p));
      for (std::uint64_t i = offsets[p] * d; i < offsets[p + 1] * d; ++i) {
        const std::uint32_t w = philox_word(prm.seed, sub, i - offsets[p] * d);
        const float want = protuberate(x[i], w, make_protuberance_constants(prm.p, prm.phi), feature_rule::free, 0, 0);
        ASSERT_EQ(got[i], want) << "component " << i << " threads " << threads;
        ASSERT_TRUE(std::isfinite(got[i])) << i;
        saturated += std::fabs(got[i]) == max_finite_float;
      }
    }
    EXPECT_GT(saturated, 100u);  // about half of the 3.4e38 components grow
  }
}

TEST(ProtuberanceOverflow, AugmentOfValuesNearTheMaximumWritesFiniteCopies) {
  dataset in;
  in.dim = 11;
  in.schema = feature_schema::spotify();
  std::vector<float> f(3 * 11, 0.5f);
  for (std::size_t s = 0; s < 3; ++s) f[s * 11 + 6] = s == 1 ? -3.4e38f : 3.4e38f;  // loudness: a free feature
  f[9] = 3.4e38f;                                                                     // tempo of song 1
  in.add_playlist("a1", {{1}}, f.data(), 3);
  augment_params prm;
  prm.copies = 8;
  prm.phi = 1.0f;
  const dataset out = augment(resources(backend::cpu, 1), in, prm);
  std::size_t saturated = 0;
  for (const float v : out.features) {
    ASSERT_TRUE(std::isfinite(v));
    saturated += std::fabs(v) == max_finite_float;
  }
  EXPECT_GT(saturated, 0u);
  const std::string csv = to_csv(out);  // the writer refuses non-finite values
  EXPECT_TRUE(has(csv, "a1#aug8")) << csv.substr(0, 200);
}

TEST(ProtuberanceOverflow, AugmentCommandAcceptsValuesNearTheMaximum) {
  if (test::cli_path().empty()) GTEST_SKIP() << "CLI not built";
  const test::temp_dir dir;
  const std::string in = dir.file("big.csv"), out = dir.file("out.csv");
  {
    std::ofstream f(in);
    f << ",moods_states,features\n"
      << "a1,[[1]],\"[[0.5, 0.5, 0.5, 0.0, 5.0, 0.1, -3.4e+38, 1.0, 0.05, 3.4e+38, 0.5], "
      << "[0.5, 0.5, 0.5, 0.0, 5.0, 0.1, 3.4e+38, 1.0, 0.05, 3.3e+38, 0.5], "
      << "[0.5, 0.5, 0.5, 0.0, 5.0, 0.1, -3.39e+38, 1.0, 0.05, 3.4e+38, 0.5]]\"\n";
  }
  std::string err;
  const int rc = run_shell(dir, test::cli_path() + " augment " + in + " -o " + out +
                                    " --copies 8 --phi 1 --seed 3 --device cpu --quiet", err);
  ASSERT_EQ(rc, 0) << err;
  const dataset got = read_csv(out);
  ASSERT_EQ(got.playlists(), 9u);
  std::size_t saturated = 0;
  for (const float v : got.features) {
    ASSERT_TRUE(std::isfinite(v));
    saturated += std::fabs(v) == max_finite_float;
  }
  EXPECT_GT(saturated, 0u);
}

}  // namespace
