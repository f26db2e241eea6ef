// In-process timing of playaug library calls for bench/compare, the side-by-side comparison
// with numpy, pandas, scikit-learn, PyTorch and CuPy.
//
// The driver is a server: bench/compare starts it once, sends one command per line on
// standard input and reads one JSON object per line on standard output. It keeps the data
// it loaded between commands, so that bench/compare can alternate between playaug and the
// other contenders repetition by repetition without paying for a process start or a data
// load inside any timing. Every timed command runs the operation once (CPU, steady_clock)
// or `inner` times between two CUDA events (GPU) and reports seconds per call.
//
// Commands (arguments are separated by spaces):
//
//   threads T                set the CPU worker threads (0: all cores; default 0)
//   synth SONGS SEED PREFIX  generate about SONGS songs with playaug::synthesize (in memory),
//                            keep them and write them as raw arrays (below)
//   export CSV PREFIX        read a playlist CSV, keep it and write it as raw arrays
//   read_csv CSV             time playaug::read_csv (the whole file into a dataset)
//   summarize CSV            time playaug::summarize_csv (what `playaug info` computes)
//   fit                      time playaug::fit_pca on the kept songs (all components)
//   protrev SEED             time the reversal (probability 0.5) and protuberance (p = 0.15,
//                            phi = 0.5, schema-aware) of every kept playlist: decisions,
//                            reverse_playlists, protuberance; on a fresh copy each time
//   nn M Q                   time playaug::nearest for the last Q kept songs against a
//                            catalog of the first M (standardised with the catalog's
//                            statistics and prepared before the timing); reports the rows
//   gpu_info                 the CUDA device (name, SMs, L2, memory) or why there is none
//   gpu_setup N NBUF K       put the first N kept songs on the device NBUF times (buffers
//                            used in rotation), fit a model with K components on them
//   gpu_time OP WARMUP INNER time OP on the device: copy | moments | fit | protuberance |
//                            transform | nn (after gpu_nn_setup)
//   gpu_nn_setup M Q         the catalog of the first M songs and the last Q songs as
//                            queries, prepared on the device
//   gpu_free                 release the device buffers
//   quit
//
// Raw arrays: PREFIX.features.f32 ([songs x d] float32), PREFIX.song_offsets.u64,
// PREFIX.segment_offsets.u64, PREFIX.mood_offsets.u64 (uint64), PREFIX.moods.i32 (int32),
// all little-endian, no header; the reply gives the counts and d.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "playaug/catalog.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"
#include "playaug/summary.hpp"
#include "playaug/synth.hpp"

#if defined(PLAYAUG_COMPARE_CUDA)
#include <cuda_runtime.h>
#endif

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  std::string out;
  playaug::append_double(out, v);
  return out;
}

template <typename T>
void write_raw(const std::string& path, const T* data, std::size_t n) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) throw playaug::error("cannot create " + path);
  if (n != 0 && std::fwrite(data, sizeof(T), n, f.get()) != n) throw playaug::error("cannot write " + path);
}

/// The kept songs and playlists (the flat layout of playaug::dataset).
struct kept_data {
  playaug::dataset ds;
  bool loaded = false;
};

std::string describe(const playaug::dataset& ds) {
  return "\"songs\": " + std::to_string(ds.songs()) + ", \"playlists\": " + std::to_string(ds.playlists()) +
         ", \"segments\": " + std::to_string(ds.segments()) + ", \"moods\": " + std::to_string(ds.moods.size()) +
         ", \"dim\": " + std::to_string(ds.dim);
}

void write_arrays(const playaug::dataset& ds, const std::string& prefix) {
  write_raw(prefix + ".features.f32", ds.features.data(), ds.features.size());
  write_raw(prefix + ".song_offsets.u64", ds.song_offsets.data(), ds.song_offsets.size());
  write_raw(prefix + ".segment_offsets.u64", ds.segment_offsets.data(), ds.segment_offsets.size());
  write_raw(prefix + ".mood_offsets.u64", ds.mood_offsets.data(), ds.mood_offsets.size());
  write_raw(prefix + ".moods.i32", ds.moods.data(), ds.moods.size());
}

/// The catalog (first M songs) and queries (last Q songs) of the nn command, prepared once.
struct nn_inputs {
  std::size_t m = 0, q = 0;
  std::vector<float> prepared;  // [m x nn_stride]
  std::vector<float> queries;   // [q x nn_dim], standardised
};

void prepare_nn(const playaug::dataset& ds, std::size_t m, std::size_t q, nn_inputs& nn) {
  if (ds.dim != playaug::nn_dim) throw playaug::usage_error("nn needs 11 features");
  if (m == 0 || q == 0 || m > ds.songs() || q > ds.songs()) {
    throw playaug::usage_error("nn: M and Q must be in 1.." + std::to_string(ds.songs()));
  }
  if (nn.m == m && nn.q == q) return;
  const playaug::matrix_view<const float> cat(ds.features.data(), m, playaug::nn_dim);
  const playaug::nn_scaler scaler = playaug::nn_scaler::fit(cat);
  nn.prepared.assign(m * playaug::nn_stride, 0.0f);
  playaug::nn_prepare(scaler, cat, {nn.prepared.data(), m, playaug::nn_stride});
  nn.queries.assign(q * playaug::nn_dim, 0.0f);
  scaler.apply({ds.features.data() + (ds.songs() - q) * playaug::nn_dim, q, playaug::nn_dim},
               {nn.queries.data(), q, playaug::nn_dim});
  nn.m = m;
  nn.q = q;
}

#if defined(PLAYAUG_COMPARE_CUDA)

void cuda_check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw playaug::cuda_error(std::string(what) + ": " + cudaGetErrorString(e));
}
#define CMP_CUDA(call) cuda_check((call), #call)

template <typename T>
struct device_array {
  T* p = nullptr;
  std::size_t n = 0;
  device_array() = default;
  explicit device_array(std::size_t count) : n(count) {
    if (count != 0) CMP_CUDA(cudaMalloc(reinterpret_cast<void**>(&p), count * sizeof(T)));
  }
  device_array(const T* host, std::size_t count) : device_array(count) {
    if (count != 0) CMP_CUDA(cudaMemcpy(p, host, count * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~device_array() {
    if (p != nullptr) cudaFree(p);
  }
  device_array(const device_array&) = delete;
  device_array& operator=(const device_array&) = delete;
};

/// Device-side inputs of the gpu_* commands.
struct gpu_state {
  std::unique_ptr<playaug::resources> res;
  std::size_t n = 0, d = 0, k = 0;
  std::vector<std::unique_ptr<device_array<float>>> x, y;  // NBUF inputs and outputs
  std::unique_ptr<device_array<float>> copy_dst;
  std::unique_ptr<device_array<std::uint64_t>> offsets;
  std::size_t playlists = 0;
  playaug::pca_model model;
  std::size_t next = 0;      // the buffer the next call uses
  std::uint32_t copy = 1;    // protuberance copy index, new words every call
  // nearest
  std::size_t nn_m = 0, nn_q = 0;
  std::unique_ptr<device_array<float>> nn_cat, nn_queries;
  std::unique_ptr<device_array<playaug::nn_hit>> nn_out;
  cudaEvent_t start = nullptr, stop = nullptr;

  gpu_state() = default;
  gpu_state(const gpu_state&) = delete;
  gpu_state& operator=(const gpu_state&) = delete;
  ~gpu_state() {
    if (start != nullptr) cudaEventDestroy(start);
    if (stop != nullptr) cudaEventDestroy(stop);
  }

  cudaStream_t stream() const { return reinterpret_cast<cudaStream_t>(res->stream()); }

  void ensure() {
    if (res) return;
    res = std::make_unique<playaug::resources>(playaug::backend::cuda);
    CMP_CUDA(cudaEventCreate(&start));
    CMP_CUDA(cudaEventCreate(&stop));
  }
  void release_buffers() {
    x.clear();
    y.clear();
    copy_dst.reset();
    offsets.reset();
    n = d = k = playlists = 0;
    next = 0;
  }
  void release_nn() {
    nn_cat.reset();
    nn_queries.reset();
    nn_out.reset();
    nn_m = nn_q = 0;
  }
};

std::string gpu_info() {
  if (playaug::cuda_device_count() == 0) {
    return "{\"available\": false, \"reason\": " + json_string(playaug::cuda_unavailable_reason()) + "}";
  }
  int dev = 0;
  CMP_CUDA(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  CMP_CUDA(cudaGetDeviceProperties(&prop, dev));
  int driver = 0, runtime = 0;
  CMP_CUDA(cudaDriverGetVersion(&driver));
  CMP_CUDA(cudaRuntimeGetVersion(&runtime));
  std::size_t free_b = 0, total_b = 0;
  CMP_CUDA(cudaMemGetInfo(&free_b, &total_b));
  return "{\"available\": true, \"name\": " + json_string(prop.name) +
         ", \"sm_count\": " + std::to_string(prop.multiProcessorCount) +
         ", \"l2_bytes\": " + std::to_string(prop.l2CacheSize) + ", \"cc\": \"" + std::to_string(prop.major) + "." +
         std::to_string(prop.minor) + "\", \"memory_bytes\": " + std::to_string(total_b) +
         ", \"free_bytes\": " + std::to_string(free_b) + ", \"driver_version\": " + std::to_string(driver) +
         ", \"runtime_version\": " + std::to_string(runtime) + "}";
}

std::string gpu_setup(gpu_state& g, const playaug::dataset& ds, std::size_t n, std::size_t nbuf, std::size_t k) {
  g.ensure();
  g.release_buffers();
  const std::size_t d = ds.dim;
  if (n < 2 || n > ds.songs()) throw playaug::usage_error("gpu_setup: N must be in 2.." + std::to_string(ds.songs()));
  if (nbuf < 1 || k < 1 || k > d) throw playaug::usage_error("gpu_setup: NBUF >= 1 and 1 <= K <= d");
  // The playlists of the first n songs; the last one is cut at song n.
  std::vector<std::uint64_t> off;
  for (std::size_t p = 0; p < ds.song_offsets.size() && ds.song_offsets[p] < n; ++p) off.push_back(ds.song_offsets[p]);
  off.push_back(n);
  for (std::size_t b = 0; b < nbuf; ++b) {
    g.x.push_back(std::make_unique<device_array<float>>(ds.features.data(), n * d));
    g.y.push_back(std::make_unique<device_array<float>>(n * k));
  }
  g.copy_dst = std::make_unique<device_array<float>>(n * d);
  g.offsets = std::make_unique<device_array<std::uint64_t>>(off.data(), off.size());
  g.n = n;
  g.d = d;
  g.k = k;
  g.playlists = off.size() - 1;
  playaug::pca_options opts;
  opts.components = k;
  g.model = playaug::fit_pca(*g.res, playaug::device_matrix<const float>(g.x[0]->p, n, d), opts,
                             ds.schema.names());
  g.res->sync();
  std::string model = g.model.to_json();
  std::replace(model.begin(), model.end(), '\n', ' ');  // one reply per line
  return "{\"n\": " + std::to_string(n) + ", \"d\": " + std::to_string(d) + ", \"k\": " + std::to_string(k) +
         ", \"buffers\": " + std::to_string(nbuf) + ", \"playlists\": " + std::to_string(g.playlists) +
         ", \"bytes\": " + std::to_string(n * d * sizeof(float)) + ", \"model\": " + model + "}";
}

std::string gpu_nn_setup(gpu_state& g, const playaug::dataset& ds, std::size_t m, std::size_t q) {
  g.ensure();
  g.release_nn();
  nn_inputs nn;
  prepare_nn(ds, m, q, nn);
  g.nn_cat = std::make_unique<device_array<float>>(nn.prepared.data(), nn.prepared.size());
  g.nn_queries = std::make_unique<device_array<float>>(nn.queries.data(), nn.queries.size());
  g.nn_out = std::make_unique<device_array<playaug::nn_hit>>(q);
  g.nn_m = m;
  g.nn_q = q;
  return "{\"m\": " + std::to_string(m) + ", \"q\": " + std::to_string(q) + "}";
}

/// One call of `op` on the next buffer of the rotation.
void gpu_call(gpu_state& g, const std::string& op, const playaug::feature_schema& schema) {
  const auto dev = playaug::memory_space::device;
  if (op == "nn") {
    if (!g.nn_cat) throw playaug::usage_error("gpu_time nn: run gpu_nn_setup first");
    playaug::nearest(*g.res, {g.nn_cat->p, g.nn_m, playaug::nn_stride, dev}, {g.nn_queries->p, g.nn_q, playaug::nn_dim, dev},
                     {}, {g.nn_out->p, g.nn_q, dev});
    return;
  }
  if (g.x.empty()) throw playaug::usage_error("gpu_time: run gpu_setup first");
  const std::size_t b = g.next;
  g.next = (g.next + 1) % g.x.size();
  float* x = g.x[b]->p;
  if (op == "copy") {
    CMP_CUDA(cudaMemcpyAsync(g.copy_dst->p, x, g.n * g.d * sizeof(float), cudaMemcpyDeviceToDevice, g.stream()));
  } else if (op == "moments") {
    const playaug::moments m = playaug::compute_moments(*g.res, playaug::device_matrix<const float>(x, g.n, g.d));
    if (m.n != g.n) throw playaug::error("moments: wrong count");
  } else if (op == "fit") {
    const playaug::pca_model m =
        playaug::fit_pca(*g.res, playaug::device_matrix<const float>(x, g.n, g.d), playaug::pca_options{}, schema.names());
    if (m.n_samples != g.n) throw playaug::error("fit: wrong count");
  } else if (op == "protuberance") {
    playaug::protuberance_params prm;  // p = 0.15, phi = 0.5, schema-aware
    prm.seed = 7;
    playaug::protuberance(*g.res, playaug::device_matrix<float>(x, g.n, g.d),
                          {g.offsets->p, g.playlists + 1, dev}, schema, prm, g.copy, 0);
    g.copy = g.copy % 100000 + 1;
  } else if (op == "transform") {
    playaug::transform(*g.res, g.model, playaug::device_matrix<const float>(x, g.n, g.d),
                       playaug::device_matrix<float>(g.y[b]->p, g.n, g.k));
  } else {
    throw playaug::usage_error("gpu_time: unknown operation '" + op + "'");
  }
}

std::string gpu_time(gpu_state& g, const std::string& op, int warmup, int inner, const playaug::feature_schema& schema) {
  g.ensure();
  if (inner < 1) throw playaug::usage_error("gpu_time: INNER >= 1");
  for (int i = 0; i < warmup; ++i) gpu_call(g, op, schema);
  CMP_CUDA(cudaStreamSynchronize(g.stream()));
  CMP_CUDA(cudaEventRecord(g.start, g.stream()));
  for (int i = 0; i < inner; ++i) gpu_call(g, op, schema);
  CMP_CUDA(cudaEventRecord(g.stop, g.stream()));
  CMP_CUDA(cudaEventSynchronize(g.stop));
  float ms = 0.0f;
  CMP_CUDA(cudaEventElapsedTime(&ms, g.start, g.stop));
  std::string out = "{\"seconds\": " + json_number(static_cast<double>(ms) * 1e-3 / inner) +
                    ", \"inner\": " + std::to_string(inner);
  if (op == "nn") {
    std::vector<playaug::nn_hit> hits(g.nn_q);
    CMP_CUDA(cudaMemcpy(hits.data(), g.nn_out->p, hits.size() * sizeof(playaug::nn_hit), cudaMemcpyDeviceToHost));
    out += ", \"rows\": [";
    for (std::size_t i = 0; i < std::min<std::size_t>(hits.size(), 1024); ++i) {
      out += (i ? ", " : "") + std::to_string(hits[i].row);
    }
    out += "]";
  }
  return out + "}";
}

#endif  // PLAYAUG_COMPARE_CUDA

class driver {
 public:
  std::string handle(const std::string& line) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "threads") {
      int t = 0;
      in >> t;
      threads_ = t;
      return "{\"threads\": " + std::to_string(cpu().threads()) + "}";
    }
    if (cmd == "synth") {
      double songs = 0;
      std::uint64_t seed = 0;
      std::string prefix;
      in >> songs >> seed >> prefix;
      playaug::synth_params prm;
      prm.playlists = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(songs / 12.0)));
      prm.seed = seed;
      data_.ds = playaug::synthesize(cpu(), prm);
      data_.loaded = true;
      nn_ = nn_inputs{};
      write_arrays(data_.ds, prefix);
      return "{" + describe(data_.ds) + "}";
    }
    if (cmd == "export") {
      std::string csv, prefix;
      in >> csv >> prefix;
      data_.ds = playaug::read_csv(csv);
      data_.loaded = true;
      nn_ = nn_inputs{};
      write_arrays(data_.ds, prefix);
      return "{" + describe(data_.ds) + "}";
    }
    if (cmd == "read_csv") {
      std::string csv;
      in >> csv;
      const auto t0 = clock_type::now();
      playaug::dataset ds = playaug::read_csv(csv);
      const double s = seconds_since(t0);
      return "{\"seconds\": " + json_number(s) + ", " + describe(ds) + "}";
    }
    if (cmd == "summarize") {
      std::string csv;
      in >> csv;
      const auto t0 = clock_type::now();
      const playaug::dataset_summary sum = playaug::summarize_csv(csv);
      const double s = seconds_since(t0);
      return "{\"seconds\": " + json_number(s) + ", \"songs\": " + std::to_string(sum.songs) + "}";
    }
    if (cmd == "fit") {
      need_data();
      const playaug::pca_options opts;
      const auto names = data_.ds.schema.names();
      const auto t0 = clock_type::now();
      const playaug::pca_model m = playaug::fit_pca(cpu(), data_.ds.feature_matrix(), opts, names);
      const double s = seconds_since(t0);
      std::string out = "{\"seconds\": " + json_number(s) + ", \"eigenvalues\": [";
      for (std::size_t i = 0; i < m.eigenvalues.size(); ++i) out += (i ? ", " : "") + json_number(m.eigenvalues[i]);
      return out + "]}";
    }
    if (cmd == "protrev") {
      need_data();
      std::uint64_t seed = 0;
      in >> seed;
      return protrev(seed);
    }
    if (cmd == "nn") {
      need_data();
      std::size_t m = 0, q = 0;
      in >> m >> q;
      prepare_nn(data_.ds, m, q, nn_);
      std::vector<playaug::nn_hit> hits(q);
      const auto t0 = clock_type::now();
      playaug::nearest(cpu(), {nn_.prepared.data(), m, playaug::nn_stride}, {nn_.queries.data(), q, playaug::nn_dim}, {},
                       {hits.data(), q});
      const double s = seconds_since(t0);
      std::string out = "{\"seconds\": " + json_number(s) + ", \"rows\": [";
      for (std::size_t i = 0; i < q; ++i) out += (i ? ", " : "") + std::to_string(hits[i].row);
      return out + "]}";
    }
#if defined(PLAYAUG_COMPARE_CUDA)
    if (cmd == "gpu_info") return gpu_info();
    if (cmd == "gpu_setup") {
      need_data();
      std::size_t n = 0, nbuf = 0, k = 0;
      in >> n >> nbuf >> k;
      return gpu_setup(gpu_, data_.ds, n, nbuf, k);
    }
    if (cmd == "gpu_nn_setup") {
      need_data();
      std::size_t m = 0, q = 0;
      in >> m >> q;
      return gpu_nn_setup(gpu_, data_.ds, m, q);
    }
    if (cmd == "gpu_time") {
      std::string op;
      int warmup = 0, inner = 1;
      in >> op >> warmup >> inner;
      return gpu_time(gpu_, op, warmup, inner, playaug::feature_schema::spotify());
    }
    if (cmd == "gpu_free") {
      gpu_.release_buffers();
      gpu_.release_nn();
      return "{\"freed\": true}";
    }
#else
    if (cmd == "gpu_info") {
      return "{\"available\": false, \"reason\": \"the comparison driver was built without the CUDA engine\"}";
    }
#endif
    throw playaug::usage_error("unknown command '" + cmd + "'");
  }

 private:
  const playaug::resources& cpu() {
    if (!cpu_ || cpu_threads_ != threads_) {
      cpu_ = std::make_unique<playaug::resources>(playaug::backend::cpu, threads_);
      cpu_threads_ = threads_;
    }
    return *cpu_;
  }

  void need_data() const {
    if (!data_.loaded) throw playaug::usage_error("no data: run synth or export first");
  }

  std::string protrev(std::uint64_t seed) {
    const playaug::dataset& ds = data_.ds;
    // A fresh copy of what the operation modifies, made before the clock starts.
    work_features_.assign(ds.features.begin(), ds.features.end());
    work_mood_offsets_ = ds.mood_offsets;
    work_moods_ = ds.moods;
    const std::size_t playlists = ds.playlists();
    flags_.assign(playlists, 0);
    const auto& res = cpu();

    const auto t0 = clock_type::now();
    std::size_t reversed = 0;
    for (std::size_t p = 0; p < playlists; ++p) {
      flags_[p] = playaug::reverse_decision(seed, 1, p, 0.5f) ? 1 : 0;
      reversed += flags_[p];
    }
    const playaug::playlists_view pl{{work_features_.data(), ds.songs(), ds.dim},
                                     {ds.song_offsets.data(), ds.song_offsets.size()},
                                     {ds.segment_offsets.data(), ds.segment_offsets.size()},
                                     {work_mood_offsets_.data(), work_mood_offsets_.size()},
                                     {work_moods_.data(), work_moods_.size()}};
    playaug::reverse_playlists(res, pl, {flags_.data(), flags_.size()});
    playaug::protuberance_params prm;  // p = 0.15, phi = 0.5, schema-aware
    prm.seed = seed;
    playaug::protuberance(res, {work_features_.data(), ds.songs(), ds.dim},
                          {ds.song_offsets.data(), ds.song_offsets.size()}, ds.schema, prm, 1, 0);
    const double s = seconds_since(t0);
    return "{\"seconds\": " + json_number(s) + ", \"reversed\": " + std::to_string(reversed) + "}";
  }

  int threads_ = 0;
  int cpu_threads_ = -1;
  std::unique_ptr<playaug::resources> cpu_;
  kept_data data_;
  nn_inputs nn_;
  std::vector<float> work_features_;
  std::vector<std::uint64_t> work_mood_offsets_;
  std::vector<std::int32_t> work_moods_;
  std::vector<std::uint8_t> flags_;
#if defined(PLAYAUG_COMPARE_CUDA)
  gpu_state gpu_;
#endif
};

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  driver drv;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    if (line == "quit") break;
    std::string reply;
    try {
      reply = drv.handle(line);
    } catch (const std::exception& e) {
      reply = "{\"error\": " + json_string(e.what()) + "}";
    }
    std::cout << reply << '\n';
    std::cout.flush();
  }
  return 0;
}
