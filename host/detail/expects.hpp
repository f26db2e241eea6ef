#pragma once
// Precondition checks of the public functions: one way to state them, one way to word
// the message. Every check throws usage_error("<op>: <what is wrong>"); the message is
// built only when the check fails, so checks inside loops cost a comparison.
//
//   expects(k <= d, "fit_pca", "components must be in 1..", d, ", got ", k);
//   expect_shape("transform", {"x", x.cols, "columns"}, {"the model", d, "features"});
//   expect_host_memory(res, "reverse_playlists", "features", pl.features);

#include <cstddef>
#include <cstdio>
#include <string>
#include <type_traits>

#include "cuda_impl.hpp"
#include "playaug/error.hpp"
#include "playaug/resources.hpp"
#include "playaug/view.hpp"

namespace playaug::detail {

inline void append_part(std::string& out, const std::string& s) { out += s; }
inline void append_part(std::string& out, const char* s) { out += s; }
inline void append_part(std::string& out, char c) { out += c; }
template <typename T>
void append_part(std::string& out, T v) {
  static_assert(std::is_arithmetic_v<T>, "expects() formats strings and numbers");
  if constexpr (std::is_integral_v<T>) {
    out += std::to_string(v);
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
    out += buf;
  }
}

/// The parts in order: strings verbatim, integers in decimal, floating point values as %g.
template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (append_part(out, parts), ...);
  return out;
}

/// "<op>: " followed by concat(parts...).
template <typename... Parts>
std::string precondition_message(const char* op, const Parts&... parts) {
  return concat(op, ": ", parts...);
}

template <typename... Parts>
[[noreturn]] void fail_precondition(const char* op, const Parts&... parts) {
  throw usage_error(precondition_message(op, parts...));
}

/// usage_error("<op>: <parts...>") unless `cond`.
template <typename... Parts>
void expects(bool cond, const char* op, const Parts&... parts) {
  if (!cond) fail_precondition(op, parts...);
}

/// One side of a shape comparison: "<who> has <n> <what>".
struct extent {
  const char* who;
  std::size_t n;
  const char* what;
};

/// usage_error("<op>: <a.who> has <a.n> <a.what> but <b.who> has <b.n> <b.what>") unless
/// a.n == b.n: the message names both sides of the mismatch.
inline void expect_shape(const char* op, extent a, extent b) {
  if (a.n != b.n) fail_precondition(op, a.who, " has ", a.n, " ", a.what, " but ", b.who, " has ", b.n, " ", b.what);
}

/// A view with elements must have data.
template <typename T>
void expect_data(const char* op, const char* name, const matrix_view<T>& v) {
  expects(v.data != nullptr || v.size() == 0, op, name, " is null but has ", v.rows, " x ", v.cols, " elements");
}
template <typename T>
void expect_data(const char* op, const char* name, const vector_view<T>& v) {
  expects(v.data != nullptr || v.size == 0, op, name, " is null but has ", v.size, " elements");
}

/// On the CPU backend every argument must be in host memory (the CUDA backend accepts
/// both: device views stay where they are, host views are staged): as the view declares it,
/// and as the CUDA driver sees the pointer when the process has loaded one
/// (cuda_impl::on_device), so that a device pointer in a view labelled host is refused too.
template <typename View>
void expect_host_memory(const resources& res, const char* op, const char* name, const View& v) {
  if (res.is_cuda()) return;
  expects(v.space == memory_space::host, op, name, " is in device memory but the backend is the CPU");
  expects(v.data == nullptr || !cuda_impl::on_device(v.data), op, name,
          " points into device memory although its view says host memory; the CPU backend needs host memory");
}

/// Two arguments that an engine walks together must live in the same memory space.
template <typename A, typename B>
void expect_same_space(const char* op, const char* a_name, const A& a, const char* b_name, const B& b) {
  expects(a.space == b.space, op, a_name, " and ", b_name, " are in different memory spaces");
}

}  // namespace playaug::detail
