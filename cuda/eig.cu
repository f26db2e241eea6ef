// symmetric_eig on the GPU: cuSOLVER syevd in float64 on the resources' stream.
//
// The recipe: copy the matrix to the device (syevd overwrites it), ask for the workspace
// size, allocate it stream-ordered, call syevd, read the status flag, then bring back the
// eigenvalues (ascending) and the eigenvectors (columns of the column-major result, i.e.
// rows of the row-major one), reverse them to descending order and apply the sign
// convention.

#include <string>
#include <vector>

#include "cuda_impl.hpp"
#include "detail/common.cuh"

namespace playaug::cuda_impl {

eigen_result symmetric_eig(const resources& res, const std::vector<double>& a, std::size_t d) {
  eigen_result e;
  if (d == 0) return e;
  if (a.size() != d * d) {
    throw usage_error("symmetric_eig: the matrix has " + std::to_string(a.size()) + " entries, expected " +
                      std::to_string(d * d));
  }
  if (d > 46340) throw usage_error("symmetric_eig: the CUDA engine supports d up to 46340");
  auto& st = detail::state_of(res);
  const cudaStream_t stream = st.stream;
  cusolverDnHandle_t solver = st.solver_handle();
  const int n = static_cast<int>(d);

  // A symmetric matrix reads the same row- or column-major.
  detail::device_buffer<double> mat(d * d, stream);
  detail::device_buffer<double> values(d, stream);
  detail::device_buffer<int> info(1, stream);
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(mat.data(), a.data(), d * d * sizeof(double), cudaMemcpyHostToDevice, stream));
  int lwork = 0;
  PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd_bufferSize(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n,
                                                   mat.data(), n, values.data(), &lwork));
  detail::device_buffer<double> work(static_cast<std::size_t>(lwork > 0 ? lwork : 1), stream);
  PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, mat.data(),
                                        n, values.data(), work.data(), lwork, info.data()));

  std::vector<double> w(d), v(d * d);
  int status = 0;
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(w.data(), values.data(), d * sizeof(double), cudaMemcpyDeviceToHost, stream));
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(v.data(), mat.data(), d * d * sizeof(double), cudaMemcpyDeviceToHost, stream));
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(&status, info.data(), sizeof(int), cudaMemcpyDeviceToHost, stream));
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  if (status < 0) {
    throw numeric_error("symmetric_eig: cuSOLVER syevd rejected argument " + std::to_string(-status));
  }
  if (status > 0) {
    throw numeric_error("symmetric_eig: cuSOLVER syevd did not converge (" + std::to_string(status) +
                        " off-diagonal elements did not reach zero); check the input for extreme values, "
                        "or run with --device cpu to use LAPACK");
  }

  e.values.resize(d);
  e.vectors.resize(d * d);
  for (std::size_t i = 0; i < d; ++i) {
    const std::size_t src = d - 1 - i;
    e.values[i] = w[src];
    for (std::size_t j = 0; j < d; ++j) e.vectors[i * d + j] = v[src * d + j];
  }
  canonicalize_signs(e, d);
  return e;
}

}  // namespace playaug::cuda_impl
