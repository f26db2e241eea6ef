#pragma once
// The one CUDA interface of playaug: the CUDA halves of the operations, the only functions
// the host dispatch points call when res.is_cuda(). Declared with CUDA-free types so host
// .cpp files include this in every build.
//
// Two sides implement these declarations:
//   - the CUDA engine, cuda/*.cu and cuda/engine.cpp, built as its own shared library
//     (libplayaug_cuda.so, linking cudart, cuSOLVER and cuRAND) that exports one symbol,
//     playaug_cuda_engine_v1, returning an engine_table of pointers to these functions;
//   - the core library's forwarders, host/cuda_engine.cpp (in every build): they load the
//     engine with dlopen on first use and call through its table. When the build has no
//     engine, or it cannot be loaded, every call throws cuda_unavailable with the reason.
// The core library therefore links no CUDA library: a process that never uses a GPU (no
// driver, no device, or backend::cpu) never maps cudart or cuSOLVER.
//
// Host-memory arguments are staged to the device and back (the call synchronises);
// device-memory arguments stay where they are and the call is stream-ordered, copying to
// the host only d x d results.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "playaug/augment.hpp"
#include "playaug/catalog.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"
#include "playaug/synth_model.hpp"
#include "playaug/view.hpp"

namespace playaug::detail {
struct augment_plan;  // host/augment_plan.hpp
}  // namespace playaug::detail

namespace playaug::cuda_impl {

// --- devices and state (cuda/resources.cu) ---------------------------------------------
/// Usable devices; 0 with `reason` set when none (no driver, no device, no engine). Never
/// throws. The core side asks the driver first (libcuda.so.1 through dlopen) and loads
/// the engine only when the driver reports a device.
int device_count(std::string* reason) noexcept;
/// The state behind resources::cuda(): stream (borrowed or owned non-blocking), lazily
/// created cuSOLVER handle, scratch.
detail::cuda_state* create_state(stream_handle borrowed);
void destroy_state(detail::cuda_state* s) noexcept;
stream_handle stream_of(detail::cuda_state& s);
void synchronize(detail::cuda_state& s);

/// True when `p` points into device memory that the CPU cannot read (not managed), as the
/// CUDA driver says. Asks only a driver that the process has already loaded (a process
/// that holds device memory has); never loads one, never throws; false without a driver.
/// The CPU backend refuses such pointers even when a view calls them host memory.
bool on_device(const void* p) noexcept;

// --- operations ------------------------------------------------------------------------
moments compute_moments(const resources& res, matrix_view<const float> x);
eigen_result symmetric_eig(const resources& res, const std::vector<double>& a, std::size_t d);
void transform(const resources& res, const pca_model& model, matrix_view<const float> x,
               matrix_view<float> y);
void inverse_transform(const resources& res, const pca_model& model,
                       matrix_view<const float> y, matrix_view<float> x);
batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets);
/// See playaug::aggregate_playlists (pca_aggregate.hpp): cuda/batched_pca.cu.
pca_aggregate_sum aggregate_playlists(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets, const pca_aggregate_options& opts);
void protuberance(const resources& res, matrix_view<float> x,
                  vector_view<const std::uint64_t> offsets, const feature_rules& rules,
                  const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist);
void reverse_playlists(const resources& res, const playlists_view& pl,
                       vector_view<const std::uint8_t> flags);
dataset augment(const resources& res, const dataset& in, const augment_params& prm,
                std::uint64_t first_playlist);

/// The songs of a planned chunk of a learned synthetic dataset (cuda/synth_model.cu):
/// synth_detail::sample_song for every song, as the CPU engine computes it; `tables` and
/// the plan are in host memory (staged; the call synchronises).
void synth_model_songs(const resources& res, const synth_detail::tables& tables,
                       const synth_detail::chunk_plan& plan);

// --- exact nearest-neighbour search (cuda/nearest.cu) -----------------------------------
/// See playaug::nearest (nearest.hpp): each view in host or device memory; host views are
/// staged; synchronises when `out` is in host memory.
void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out);
/// A copy of `prepared` ([rows x nn_stride], host memory) in device memory, queued on
/// res.stream(); the memory is released (cudaFree) with the last owner.
std::shared_ptr<const float> upload_catalog(const resources& res, matrix_view<const float> prepared);
/// Tuning of the search kernel, for benchmarks: queries per thread and block, catalog rows
/// per shared-memory tile. All 0 without an engine.
struct nearest_tuning {
  int threads = 0;
  int queries_per_thread = 0;
  int tile_rows = 0;
};
nearest_tuning nearest_kernel_tuning() noexcept;

// --- the engine library ----------------------------------------------------------------
/// Bumped whenever a signature above, engine_table or host_services changes. The core
/// refuses an engine whose abi or package version differs from its own.
inline constexpr std::uint32_t engine_abi = 3;

/// What the engine needs from the core library, passed to it when it is loaded (the engine
/// links no playaug code of the core, so that it never holds a second copy of its state).
struct host_services {
  std::uint32_t abi = engine_abi;
  std::uint32_t size = sizeof(host_services);
  detail::cuda_state& (*resources_cuda)(const resources& res);
  stream_handle (*resources_stream)(const resources& res);
  void (*canonicalize_signs)(eigen_result& e, std::size_t d);
  feature_rules (*make_feature_rules)(const feature_schema& schema, bool raw);
  dataset (*plan_augment)(const dataset& in, const augment_params& prm, std::uint64_t first_playlist,
                          int threads, detail::augment_plan& plan);
};

/// The engine's entry points, one per function above.
struct engine_table {
  std::uint32_t abi = engine_abi;
  std::uint32_t size = sizeof(engine_table);
  const char* version;  ///< PLAYAUG_VERSION_STRING of the engine's build
  int (*device_count)(std::string* reason) noexcept;
  detail::cuda_state* (*create_state)(stream_handle borrowed);
  void (*destroy_state)(detail::cuda_state* s) noexcept;
  stream_handle (*stream_of)(detail::cuda_state& s);
  void (*synchronize)(detail::cuda_state& s);
  moments (*compute_moments)(const resources& res, matrix_view<const float> x);
  eigen_result (*symmetric_eig)(const resources& res, const std::vector<double>& a, std::size_t d);
  void (*transform)(const resources& res, const pca_model& model, matrix_view<const float> x,
                    matrix_view<float> y);
  void (*inverse_transform)(const resources& res, const pca_model& model, matrix_view<const float> y,
                            matrix_view<float> x);
  batched_pca (*fit_pca_per_playlist)(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets);
  void (*protuberance)(const resources& res, matrix_view<float> x, vector_view<const std::uint64_t> offsets,
                       const feature_rules& rules, const protuberance_params& prm, std::uint32_t copy,
                       std::uint64_t first_playlist);
  void (*reverse_playlists)(const resources& res, const playlists_view& pl, vector_view<const std::uint8_t> flags);
  dataset (*augment)(const resources& res, const dataset& in, const augment_params& prm,
                     std::uint64_t first_playlist);
  void (*nearest)(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
                  vector_view<const nn_hit> floors, vector_view<nn_hit> out);
  std::shared_ptr<const float> (*upload_catalog)(const resources& res, matrix_view<const float> prepared);
  nearest_tuning (*nearest_kernel_tuning)() noexcept;
  pca_aggregate_sum (*aggregate_playlists)(const resources& res, matrix_view<const float> x,
                                           vector_view<const std::uint64_t> offsets,
                                           const pca_aggregate_options& opts);
  void (*synth_model_songs)(const resources& res, const synth_detail::tables& tables,
                            const synth_detail::chunk_plan& plan);
};

/// The engine library's one exported symbol's name and type. It records `host` (which
/// must outlive the process's use of the engine) and returns its table, or nullptr when
/// host->abi differs from engine_abi.
inline constexpr const char* engine_entry_name = "playaug_cuda_engine_v1";
using engine_entry = const engine_table* (*)(const host_services* host);

/// Where the core stands with the engine (host/cuda_engine.cpp): load it now if this build
/// has one and it is not loaded yet, whether or not a device exists. For tests and
/// diagnostics; operations load it by themselves.
struct engine_status {
  bool loaded = false;
  std::string path;    ///< the file loaded, when loaded
  std::string reason;  ///< why not, otherwise
};
engine_status load_engine() noexcept;
/// Without loading anything: whether the engine is loaded in this process.
bool engine_loaded() noexcept;

}  // namespace playaug::cuda_impl
