#pragma once
/// @file buffer.hpp
/// playaug::buffer<T>: an owning, growable array of trivially copyable T on the host heap.
///
/// It is std::vector without value-initialisation and with realloc() growth. For large
/// arrays glibc grows a buffer by remapping its pages instead of copying them, so reading
/// a big file never holds the old and the new copy of the feature matrix at once, and
/// untouched capacity costs no resident memory.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <type_traits>
#include <utility>

namespace playaug {

/// See the file comment.
template <typename T>
class buffer {
  static_assert(std::is_trivially_copyable_v<T>, "buffer<T> holds trivially copyable T only");

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  buffer() noexcept = default;
  /// n elements, not initialised.
  explicit buffer(std::size_t n) { resize(n); }
  buffer(std::size_t n, const T& value) {
    resize(n);
    for (std::size_t i = 0; i < n; ++i) data_[i] = value;
  }
  buffer(std::initializer_list<T> init) {
    resize(init.size());
    std::size_t i = 0;
    for (const T& v : init) data_[i++] = v;
  }
  buffer(const T* first, const T* last) { assign(first, last); }
  buffer(const buffer& o) { assign(o.begin(), o.end()); }
  buffer(buffer&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)),
        size_(std::exchange(o.size_, 0)),
        capacity_(std::exchange(o.capacity_, 0)) {}
  buffer& operator=(const buffer& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  buffer& operator=(buffer&& o) noexcept {
    if (this != &o) {
      std::free(data_);
      data_ = std::exchange(o.data_, nullptr);
      size_ = std::exchange(o.size_, 0);
      capacity_ = std::exchange(o.capacity_, 0);
    }
    return *this;
  }
  ~buffer() { std::free(data_); }

  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  bool empty() const noexcept { return size_ == 0; }
  T& operator[](std::size_t i) noexcept { return data_[i]; }
  const T& operator[](std::size_t i) const noexcept { return data_[i]; }
  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }
  T& back() noexcept { return data_[size_ - 1]; }
  const T& back() const noexcept { return data_[size_ - 1]; }

  void reserve(std::size_t n) {
    if (n <= capacity_) return;
    void* p = std::realloc(data_, n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
    data_ = static_cast<T*>(p);
    capacity_ = n;
  }
  /// Resize; new elements are not initialised.
  void resize(std::size_t n) {
    if (n > capacity_) reserve(n);
    size_ = n;
  }
  void clear() noexcept { size_ = 0; }
  void shrink_to_fit() {
    if (size_ == capacity_) return;
    if (size_ == 0) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      return;
    }
    void* p = std::realloc(data_, size_ * sizeof(T));
    if (p != nullptr) {
      data_ = static_cast<T*>(p);
      capacity_ = size_;
    }
  }
  void push_back(const T& v) {
    if (size_ == capacity_) grow(size_ + 1);
    data_[size_++] = v;
  }
  /// Append n uninitialised elements and return a pointer to the first.
  T* grow_by(std::size_t n) {
    if (size_ + n > capacity_) grow(size_ + n);
    T* p = data_ + size_;
    size_ += n;
    return p;
  }
  void append(const T* first, const T* last) {
    const auto n = static_cast<std::size_t>(last - first);
    if (n != 0) std::memcpy(grow_by(n), first, n * sizeof(T));
  }
  void assign(const T* first, const T* last) {
    clear();
    append(first, last);
  }

  friend bool operator==(const buffer& a, const buffer& b) noexcept {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_ * sizeof(T)) == 0);
  }
  friend bool operator!=(const buffer& a, const buffer& b) noexcept { return !(a == b); }

 private:
  void grow(std::size_t need) {
    std::size_t cap = capacity_ < 16 ? 16 : capacity_ + capacity_ / 2;
    reserve(cap < need ? need : cap);
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace playaug
