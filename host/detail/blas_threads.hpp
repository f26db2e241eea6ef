#pragma once
// One BLAS thread while LAPACK runs on the small matrices of PCA (host/pca_cpu.cpp,
// host/pca_aggregate_cpu.cpp).

// OpenBLAS's thread-count controls, resolved only when OpenBLAS provides BLAS (weak
// references: null with any other implementation).
extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace playaug::detail {

/// While alive, asks OpenBLAS for one thread and restores its count afterwards. OpenBLAS's
/// threaded builds split even an 11 x 11 dsymv across threads: the eigenvectors' last bits
/// then depend on the machine's core count, and in per-playlist PCA, which is parallel
/// across playlists already, its threads spin and serialise the LAPACK calls (measured:
/// 7x slower with two threads). Feature matrices are small; one thread is the fast choice.
/// Code that calls LAPACK from several threads holds one guard around all of them (a
/// guard per call would restore the count while another thread's call runs).
class single_threaded_blas {
 public:
  single_threaded_blas() {
    if (openblas_get_num_threads != nullptr && openblas_set_num_threads != nullptr) {
      previous_ = openblas_get_num_threads();
      if (previous_ > 1) openblas_set_num_threads(1);
    }
  }
  ~single_threaded_blas() {
    if (previous_ > 1) openblas_set_num_threads(previous_);
  }
  single_threaded_blas(const single_threaded_blas&) = delete;
  single_threaded_blas& operator=(const single_threaded_blas&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace playaug::detail
