#pragma once
/// @file view.hpp
/// Non-owning views of row-major matrices and vectors. A view records where its memory
/// lives (host or device), so that one entry point per operation can accept either: a
/// training pipeline passes device pointers and its stream, a batch job passes host
/// memory.

#include <cstddef>
#include <cstdint>

namespace playaug {

/// Where a view's memory lives.
enum class memory_space : std::uint8_t {
  host,    ///< ordinary or pinned host memory
  device,  ///< CUDA device memory (cudaMalloc/cudaMallocAsync) of the current device
};

/// A row-major [rows x cols] matrix with leading dimension == cols (no padding).
template <typename T>
struct matrix_view {
  T* data = nullptr;
  std::size_t rows = 0;
  std::size_t cols = 0;
  memory_space space = memory_space::host;

  constexpr matrix_view() = default;
  constexpr matrix_view(T* d, std::size_t r, std::size_t c,
                        memory_space s = memory_space::host) noexcept
      : data(d), rows(r), cols(c), space(s) {}
  /// A view of non-const T converts to a view of const T.
  template <typename U, typename = decltype(static_cast<T*>(static_cast<U*>(nullptr)))>
  constexpr matrix_view(const matrix_view<U>& o) noexcept  // NOLINT(google-explicit-constructor)
      : data(o.data), rows(o.rows), cols(o.cols), space(o.space) {}

  constexpr std::size_t size() const noexcept { return rows * cols; }
  constexpr bool empty() const noexcept { return rows == 0 || cols == 0; }
  constexpr T* row(std::size_t i) const noexcept { return data + i * cols; }
  constexpr T& operator()(std::size_t i, std::size_t j) const noexcept { return data[i * cols + j]; }
};

/// A contiguous vector of n elements.
template <typename T>
struct vector_view {
  T* data = nullptr;
  std::size_t size = 0;
  memory_space space = memory_space::host;

  constexpr vector_view() = default;
  constexpr vector_view(T* d, std::size_t n, memory_space s = memory_space::host) noexcept
      : data(d), size(n), space(s) {}
  template <typename U, typename = decltype(static_cast<T*>(static_cast<U*>(nullptr)))>
  constexpr vector_view(const vector_view<U>& o) noexcept  // NOLINT(google-explicit-constructor)
      : data(o.data), size(o.size), space(o.space) {}

  constexpr T& operator[](std::size_t i) const noexcept { return data[i]; }
  constexpr T* begin() const noexcept { return data; }
  constexpr T* end() const noexcept { return data + size; }
};

/// A view of host memory.
template <typename T>
constexpr matrix_view<T> host_matrix(T* data, std::size_t rows, std::size_t cols) noexcept {
  return {data, rows, cols, memory_space::host};
}
/// A view of CUDA device memory.
template <typename T>
constexpr matrix_view<T> device_matrix(T* data, std::size_t rows, std::size_t cols) noexcept {
  return {data, rows, cols, memory_space::device};
}

}  // namespace playaug
