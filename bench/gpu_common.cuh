#pragma once
// Shared pieces of the CUDA benchmarks: device check, CUDA-event timing (UseManualTime),
// an L2 flush between iterations, random inputs, and the device-to-device copy of the
// same bytes that every row is compared with ("copy_frac" = copy time / this time, so 1.0
// means as fast as moving the bytes with cudaMemcpyAsync).

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "playaug/resources.hpp"

namespace playaug::bench {

#define PLAYAUG_BENCH_CUDA(call)                                                                  \
  do {                                                                                            \
    const cudaError_t e_ = (call);                                                                \
    if (e_ != cudaSuccess) throw std::runtime_error(std::string(#call) + ": " + cudaGetErrorString(e_)); \
  } while (0)

/// False (and the benchmark marked skipped with an error) when there is no device.
inline bool have_gpu(benchmark::State& state) {
  if (cuda_device_count() == 0) {
    state.SkipWithError(("no CUDA device: " + cuda_unavailable_reason()).c_str());
    return false;
  }
  return true;
}

/// cudaMalloc'd storage, freed on scope exit.
template <typename T>
struct device_vec {
  T* p = nullptr;
  std::size_t n = 0;
  explicit device_vec(std::size_t count) : n(count) {
    if (count != 0) PLAYAUG_BENCH_CUDA(cudaMalloc(reinterpret_cast<void**>(&p), count * sizeof(T)));
  }
  device_vec(const std::vector<T>& host) : device_vec(host.size()) {
    if (n != 0) PLAYAUG_BENCH_CUDA(cudaMemcpy(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~device_vec() {
    if (p != nullptr) cudaFree(p);
  }
  device_vec(const device_vec&) = delete;
  device_vec& operator=(const device_vec&) = delete;
};

/// True when `bytes` more device memory is free (with a 10% margin).
inline bool fits(std::size_t bytes) {
  std::size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return false;
  return bytes < free_b / 10 * 9;
}

/// Random floats in [lo, hi) filled on the device from a host pattern (fast for large n).
inline void fill_random(float* dst, std::size_t n, float lo, float hi, std::uint64_t seed) {
  const std::size_t block = std::min<std::size_t>(n, std::size_t{1} << 22);
  std::vector<float> h(block);
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  for (auto& v : h) v = u(gen);
  for (std::size_t i = 0; i < n; i += block) {
    const std::size_t k = std::min(block, n - i);
    PLAYAUG_BENCH_CUDA(cudaMemcpy(dst + i, h.data() + (i / block * 7919) % (block - k + 1), k * sizeof(float),
                                  cudaMemcpyHostToDevice));
  }
}

/// Events on a stream; seconds between start() and stop().
class event_timer {
 public:
  event_timer() {
    PLAYAUG_BENCH_CUDA(cudaEventCreate(&a_));
    PLAYAUG_BENCH_CUDA(cudaEventCreate(&b_));
  }
  ~event_timer() {
    cudaEventDestroy(a_);
    cudaEventDestroy(b_);
  }
  void start(cudaStream_t s) { PLAYAUG_BENCH_CUDA(cudaEventRecord(a_, s)); }
  double stop(cudaStream_t s) {
    PLAYAUG_BENCH_CUDA(cudaEventRecord(b_, s));
    PLAYAUG_BENCH_CUDA(cudaEventSynchronize(b_));
    float ms = 0.0f;
    PLAYAUG_BENCH_CUDA(cudaEventElapsedTime(&ms, a_, b_));
    return static_cast<double>(ms) * 1e-3;
  }

 private:
  cudaEvent_t a_ = nullptr, b_ = nullptr;
};

/// Evicts the L2 cache by writing a buffer twice its size.
class l2_flusher {
 public:
  l2_flusher() {
    int dev = 0, l2 = 0;
    PLAYAUG_BENCH_CUDA(cudaGetDevice(&dev));
    PLAYAUG_BENCH_CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    bytes_ = static_cast<std::size_t>(std::max(l2, 1 << 20)) * 2;
    PLAYAUG_BENCH_CUDA(cudaMalloc(&buf_, bytes_));
  }
  ~l2_flusher() { cudaFree(buf_); }
  void flush(cudaStream_t s) { PLAYAUG_BENCH_CUDA(cudaMemsetAsync(buf_, 0x5a, bytes_, s)); }

 private:
  void* buf_ = nullptr;
  std::size_t bytes_ = 0;
};

/// Median seconds of a device-to-device cudaMemcpyAsync of `bytes` (cached per size).
inline double copy_seconds(std::size_t bytes) {
  static std::map<std::size_t, double> cache;
  const auto it = cache.find(bytes);
  if (it != cache.end()) return it->second;
  device_vec<unsigned char> src(bytes), dst(bytes);
  PLAYAUG_BENCH_CUDA(cudaMemset(src.p, 1, bytes));
  cudaStream_t s = nullptr;
  PLAYAUG_BENCH_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  l2_flusher l2;
  event_timer t;
  std::vector<double> times;
  for (int i = 0; i < 13; ++i) {
    l2.flush(s);
    t.start(s);
    PLAYAUG_BENCH_CUDA(cudaMemcpyAsync(dst.p, src.p, bytes, cudaMemcpyDeviceToDevice, s));
    const double sec = t.stop(s);
    if (i >= 3) times.push_back(sec);
  }
  cudaStreamDestroy(s);
  std::sort(times.begin(), times.end());
  return cache[bytes] = times[times.size() / 2];
}

/// Run `op` on `stream` once per iteration between events (after an untimed warm-up and
/// an L2 flush each time), and report bytes/s and the fraction of copy speed for
/// `copy_bytes` copied device to device (same traffic as `bytes` read plus written when
/// copy_bytes = bytes).
template <typename Op>
void timed_loop(benchmark::State& state, cudaStream_t stream, std::size_t bytes, std::size_t copy_bytes, Op&& op) {
  l2_flusher l2;
  event_timer t;
  op();  // warm-up: module load, handles, pools
  PLAYAUG_BENCH_CUDA(cudaStreamSynchronize(stream));
  double total = 0.0;
  for (auto _ : state) {
    l2.flush(stream);
    t.start(stream);
    op();
    const double sec = t.stop(stream);
    state.SetIterationTime(sec);
    total += sec;
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(bytes));
  if (state.iterations() > 0 && copy_bytes != 0) {
    const double mean = total / static_cast<double>(state.iterations());
    const double copy = copy_seconds(copy_bytes);
    state.counters["copy_frac"] = copy / mean;
    state.counters["copy_GBps"] = 2.0 * static_cast<double>(copy_bytes) / copy * 1e-9;
  }
}

/// Playlist offsets of random sizes in [lo, hi] covering exactly `songs` songs.
inline std::vector<std::uint64_t> random_offsets(std::uint64_t songs, std::uint64_t lo, std::uint64_t hi,
                                                 std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::vector<std::uint64_t> off{0};
  while (off.back() < songs) {
    const std::uint64_t s = lo + gen() % (hi - lo + 1);
    off.push_back(std::min(songs, off.back() + s));
  }
  return off;
}

}  // namespace playaug::bench
