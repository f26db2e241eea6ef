// The core library's side of the CUDA interface (cuda/cuda_impl.hpp), in every build: it
// finds and loads the CUDA engine (libplayaug_cuda.so) on first use and forwards each call
// through the engine's table. Without an engine (a CPU-only build, or one that cannot be
// loaded) every call throws cuda_unavailable with the reason; this is the one stub file.
//
// Nothing CUDA is loaded until a device is asked for: device_count() first asks the
// driver (libcuda.so.1 through dlopen: cuInit, cuDeviceGetCount) and loads the engine,
// with cudart and cuSOLVER behind it, only when the driver reports a device. A process on
// a machine without a GPU, or with backend::cpu, maps no CUDA library at all.
//
// Finding the engine, first match wins:
//   1. $PLAYAUG_CUDA_ENGINE, a path to the library (nothing else is tried);
//   2. beside the binary that contains the core library (the program, or libplayaug.so);
//   3. that binary's directory followed by the install layout's bin -> lib step
//      (PLAYAUG_ENGINE_RELDIR, "../lib" for a standard prefix);
//   4. the plain soname through the dynamic loader (RUNPATH, LD_LIBRARY_PATH, ld.so.cache).

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "detail/augment_plan.hpp"
#include "cuda_impl.hpp"
#include "playaug/error.hpp"
#include "playaug/version.hpp"

#ifndef PLAYAUG_ENGINE_SONAME
#define PLAYAUG_ENGINE_SONAME "libplayaug_cuda.so"
#endif
#ifndef PLAYAUG_ENGINE_RELDIR
#define PLAYAUG_ENGINE_RELDIR "../lib"
#endif

namespace playaug::cuda_impl {

namespace {

// --- the driver probe ----------------------------------------------------------------------

struct driver_probe {
  int devices = 0;
  std::string reason;
};

driver_probe probe_driver() {
  driver_probe p;
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    p.reason = "no CUDA driver (libcuda.so.1 cannot be loaded)";
    return p;
  }
  using init_fn = int (*)(unsigned int);
  using count_fn = int (*)(int*);
  const auto init = reinterpret_cast<init_fn>(dlsym(lib, "cuInit"));
  const auto count = reinterpret_cast<count_fn>(dlsym(lib, "cuDeviceGetCount"));
  if (init == nullptr || count == nullptr) {
    p.reason = "the CUDA driver (libcuda.so.1) lacks cuInit or cuDeviceGetCount";
    return p;
  }
  constexpr int kNoDevice = 100;  // CUDA_ERROR_NO_DEVICE
  const int st = init(0);
  if (st == kNoDevice) {
    p.reason = "no CUDA device found";
    return p;
  }
  if (st != 0) {
    p.reason = "CUDA is not usable: the driver's cuInit returned error " + std::to_string(st);
    return p;
  }
  int n = 0;
  if (count(&n) != 0 || n <= 0) {
    p.reason = "no CUDA device found";
    return p;
  }
  p.devices = n;
  return p;  // the driver stays loaded: the engine is about to use it
}

// --- the engine ---------------------------------------------------------------------------

// The core functions the engine calls (cuda_impl.hpp, host_services).
detail::cuda_state& host_resources_cuda(const resources& res) { return res.cuda(); }
stream_handle host_resources_stream(const resources& res) { return res.stream(); }

const host_services* host() {
  static const host_services h = [] {
    host_services s;
    s.resources_cuda = &host_resources_cuda;
    s.resources_stream = &host_resources_stream;
    s.canonicalize_signs = &playaug::canonicalize_signs;
    s.make_feature_rules = &playaug::make_feature_rules;
    s.plan_augment = &detail::plan_augment;
    return s;
  }();
  return &h;
}

struct engine_state {
  const engine_table* table = nullptr;
  std::string path;
  std::string reason;
};

std::string directory_of(const std::string& file) {
  const auto slash = file.rfind('/');
  return slash == std::string::npos ? std::string(".") : file.substr(0, slash);
}

// The file of the binary that holds this code: the program (static libplayaug) or
// libplayaug.so.
std::string core_binary() {
  Dl_info info{};
  std::string file;
  if (dladdr(reinterpret_cast<void*>(&probe_driver), &info) != 0 && info.dli_fname != nullptr) {
    file = info.dli_fname;
  }
  // For the main program dladdr reports argv[0], which need not hold a directory.
  if (file.find('/') == std::string::npos) {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    file.assign(buf, static_cast<std::size_t>(n));
  }
  char resolved[PATH_MAX];
  if (realpath(file.c_str(), resolved) != nullptr) file = resolved;
  return file;
}

// dlopen `what` and check its entry point; on failure append why to `why` and return false.
bool try_load(const std::string& what, engine_state& st, std::string& why) {
  void* lib = dlopen(what.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = dlerror();
    why += "\n  " + what + ": " + (e != nullptr ? e : "cannot be loaded");
    return false;
  }
  const auto entry = reinterpret_cast<engine_entry>(dlsym(lib, engine_entry_name));
  const engine_table* t = entry != nullptr ? entry(host()) : nullptr;
  if (t == nullptr || t->abi != engine_abi || t->size != sizeof(engine_table) || t->version == nullptr ||
      std::string(t->version) != PLAYAUG_VERSION_STRING) {
    why += "\n  " + what + ": not a CUDA engine of playaug " PLAYAUG_VERSION_STRING;
    dlclose(lib);
    return false;
  }
  st.table = t;
  Dl_info info{};
  st.path = dladdr(reinterpret_cast<const void*>(entry), &info) != 0 && info.dli_fname != nullptr
                ? std::string(info.dli_fname)
                : what;
  return true;  // never closed: its functions and deleters may run until exit
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

engine_state load() {
  engine_state st;
  if (PLAYAUG_HAS_CUDA == 0) {
    st.reason = "this playaug was built without CUDA";
    return st;
  }
  std::string why;
  if (const char* env = std::getenv("PLAYAUG_CUDA_ENGINE"); env != nullptr && *env != '\0') {
    if (!try_load(env, st, why)) st.reason = "the CUDA engine named by PLAYAUG_CUDA_ENGINE cannot be used:" + why;
    return st;
  }
  std::vector<std::string> candidates;
  const std::string core = core_binary();
  if (!core.empty()) {
    const std::string dir = directory_of(core);
    candidates.push_back(dir + "/" PLAYAUG_ENGINE_SONAME);
    candidates.push_back(dir + "/" PLAYAUG_ENGINE_RELDIR "/" PLAYAUG_ENGINE_SONAME);
  }
  for (const auto& c : candidates) {
    if (exists(c) && try_load(c, st, why)) return st;
  }
  if (try_load(PLAYAUG_ENGINE_SONAME, st, why)) return st;
  st.reason = "the CUDA engine (" PLAYAUG_ENGINE_SONAME ") cannot be loaded:" + why;
  return st;
}

// The loader's one decision, made on first use. The table pointer is kept apart, in a
// trivially destructible atomic, so that a resources object destroyed during the
// program's exit can still release its CUDA state.
std::atomic<const engine_table*> g_table{nullptr};

const engine_state& engine_once() noexcept {
  static const engine_state st = [] {
    engine_state s;
    try {
      s = load();
    } catch (const std::exception& e) {
      s = {};
      s.reason = std::string("the CUDA engine cannot be loaded: ") + e.what();
    }
    g_table.store(s.table, std::memory_order_release);
    return s;
  }();
  return st;
}

// The loaded table, or cuda_unavailable naming the operation and why.
const engine_table& engine(const char* what) {
  const engine_state& st = engine_once();
  if (st.table == nullptr) {
    throw cuda_unavailable(PLAYAUG_HAS_CUDA == 0 ? cuda_unavailable::reason_t::not_built
                                                 : cuda_unavailable::reason_t::no_device,
                           std::string(what) + ": " + st.reason);
  }
  return *st.table;
}

}  // namespace

engine_status load_engine() noexcept {
  const engine_state& st = engine_once();
  engine_status out;
  try {
    out.loaded = st.table != nullptr;
    out.path = st.path;
    out.reason = st.reason;
  } catch (...) {
  }
  return out;
}

bool engine_loaded() noexcept { return g_table.load(std::memory_order_acquire) != nullptr; }

int device_count(std::string* reason) noexcept {
  try {
    if (PLAYAUG_HAS_CUDA == 0) {
      if (reason != nullptr) *reason = "this playaug was built without CUDA";
      return 0;
    }
    static const driver_probe driver = probe_driver();
    if (driver.devices <= 0) {
      if (reason != nullptr) *reason = driver.reason;
      return 0;
    }
    const engine_state& st = engine_once();
    if (st.table == nullptr) {
      if (reason != nullptr) *reason = st.reason;
      return 0;
    }
    return st.table->device_count(reason);
  } catch (...) {
    if (reason != nullptr) *reason = "CUDA is not usable (out of memory while probing)";
    return 0;
  }
}

bool on_device(const void* p) noexcept {
  if (p == nullptr) return false;
  // RTLD_NOLOAD: the driver only if something in the process has loaded it already.
  static void* const lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (lib == nullptr) return false;
  using attr_fn = int (*)(void* data, int attribute, unsigned long long ptr);
  static const auto attr = reinterpret_cast<attr_fn>(dlsym(lib, "cuPointerGetAttribute"));
  if (attr == nullptr) return false;
  constexpr int kMemoryType = 2;  // CU_POINTER_ATTRIBUTE_MEMORY_TYPE
  constexpr int kIsManaged = 8;   // CU_POINTER_ATTRIBUTE_IS_MANAGED
  constexpr unsigned int kDevice = 2;  // CU_MEMORYTYPE_DEVICE
  const auto addr = static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(p));
  unsigned int type = 0;
  if (attr(&type, kMemoryType, addr) != 0 || type != kDevice) return false;  // host or unknown to CUDA
  unsigned int managed = 0;
  if (attr(&managed, kIsManaged, addr) == 0 && managed != 0) return false;  // the CPU can read it
  return true;
}

detail::cuda_state* create_state(stream_handle borrowed) { return engine("create_state").create_state(borrowed); }
void destroy_state(detail::cuda_state* s) noexcept {
  const engine_table* t = g_table.load(std::memory_order_acquire);
  if (s != nullptr && t != nullptr) t->destroy_state(s);
}
stream_handle stream_of(detail::cuda_state& s) { return engine("stream").stream_of(s); }
void synchronize(detail::cuda_state& s) { engine("synchronize").synchronize(s); }

moments compute_moments(const resources& res, matrix_view<const float> x) {
  return engine("compute_moments").compute_moments(res, x);
}
eigen_result symmetric_eig(const resources& res, const std::vector<double>& a, std::size_t d) {
  return engine("symmetric_eig").symmetric_eig(res, a, d);
}
void transform(const resources& res, const pca_model& model, matrix_view<const float> x, matrix_view<float> y) {
  engine("transform").transform(res, model, x, y);
}
void inverse_transform(const resources& res, const pca_model& model, matrix_view<const float> y,
                       matrix_view<float> x) {
  engine("inverse_transform").inverse_transform(res, model, y, x);
}
batched_pca fit_pca_per_playlist(const resources& res, matrix_view<const float> x,
                                 vector_view<const std::uint64_t> offsets) {
  return engine("fit_pca_per_playlist").fit_pca_per_playlist(res, x, offsets);
}
pca_aggregate_sum aggregate_playlists(const resources& res, matrix_view<const float> x,
                                      vector_view<const std::uint64_t> offsets, const pca_aggregate_options& opts) {
  return engine("aggregate_playlists").aggregate_playlists(res, x, offsets, opts);
}
void protuberance(const resources& res, matrix_view<float> x, vector_view<const std::uint64_t> offsets,
                  const feature_rules& rules, const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist) {
  engine("protuberance").protuberance(res, x, offsets, rules, prm, copy, first_playlist);
}
void reverse_playlists(const resources& res, const playlists_view& pl, vector_view<const std::uint8_t> flags) {
  engine("reverse_playlists").reverse_playlists(res, pl, flags);
}
dataset augment(const resources& res, const dataset& in, const augment_params& prm, std::uint64_t first_playlist) {
  return engine("augment").augment(res, in, prm, first_playlist);
}
void nearest(const resources& res, matrix_view<const float> catalog, matrix_view<const float> queries,
             vector_view<const nn_hit> floors, vector_view<nn_hit> out) {
  engine("nearest").nearest(res, catalog, queries, floors, out);
}
std::shared_ptr<const float> upload_catalog(const resources& res, matrix_view<const float> prepared) {
  return engine("upload_catalog").upload_catalog(res, prepared);
}
void synth_model_songs(const resources& res, const synth_detail::tables& tables,
                       const synth_detail::chunk_plan& plan) {
  engine("synth_model_songs").synth_model_songs(res, tables, plan);
}
nearest_tuning nearest_kernel_tuning() noexcept {
  const engine_state& st = engine_once();
  return st.table != nullptr ? st.table->nearest_kernel_tuning() : nearest_tuning{};
}

}  // namespace playaug::cuda_impl
