// The CUDA engine library's entry point (libplayaug_cuda.so): the table of its functions
// (cuda/cuda_impl.hpp), and the few core functions the engine calls, forwarded to the core
// library that loaded it through the host_services it passed. The library exports only
// playaug_cuda_engine_v1 (cmake/cuda_engine.map); everything else binds inside it.

#include "detail/augment_plan.hpp"
#include "cuda_impl.hpp"
#include "playaug/version.hpp"

namespace playaug {
namespace {
const cuda_impl::host_services* g_host = nullptr;
}  // namespace

// --- the core functions the engine uses --------------------------------------------------
detail::cuda_state& resources::cuda() const { return g_host->resources_cuda(*this); }
stream_handle resources::stream() const { return g_host->resources_stream(*this); }
void canonicalize_signs(eigen_result& e, std::size_t d) { g_host->canonicalize_signs(e, d); }
feature_rules make_feature_rules(const feature_schema& schema, bool raw) {
  return g_host->make_feature_rules(schema, raw);
}
namespace detail {
dataset plan_augment(const dataset& in, const augment_params& prm, std::uint64_t first_playlist, int threads,
                     augment_plan& plan) {
  return g_host->plan_augment(in, prm, first_playlist, threads, plan);
}
}  // namespace detail

namespace {
cuda_impl::engine_table make_table() {
  namespace ci = cuda_impl;
  ci::engine_table t{};
  t.abi = ci::engine_abi;
  t.size = sizeof(ci::engine_table);
  t.version = PLAYAUG_VERSION_STRING;
  t.device_count = &ci::device_count;
  t.create_state = &ci::create_state;
  t.destroy_state = &ci::destroy_state;
  t.stream_of = &ci::stream_of;
  t.synchronize = &ci::synchronize;
  t.compute_moments = &ci::compute_moments;
  t.symmetric_eig = &ci::symmetric_eig;
  t.transform = &ci::transform;
  t.inverse_transform = &ci::inverse_transform;
  t.fit_pca_per_playlist = &ci::fit_pca_per_playlist;
  t.protuberance = &ci::protuberance;
  t.reverse_playlists = &ci::reverse_playlists;
  t.augment = &ci::augment;
  t.nearest = &ci::nearest;
  t.upload_catalog = &ci::upload_catalog;
  t.nearest_kernel_tuning = &ci::nearest_kernel_tuning;
  t.aggregate_playlists = &ci::aggregate_playlists;
  t.synth_model_songs = &ci::synth_model_songs;
  return t;
}
}  // namespace
}  // namespace playaug

extern "C" __attribute__((visibility("default"))) const playaug::cuda_impl::engine_table* playaug_cuda_engine_v1(
    const playaug::cuda_impl::host_services* host) {
  using playaug::cuda_impl::engine_abi;
  if (host == nullptr || host->abi != engine_abi || host->size != sizeof(playaug::cuda_impl::host_services)) {
    return nullptr;
  }
  playaug::g_host = host;
  static const playaug::cuda_impl::engine_table table = playaug::make_table();
  return &table;
}
