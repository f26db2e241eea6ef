// symmetric_eig on the GPU: cuSOLVER syevd in float64 on the resources' stream.
//
// The recipe: copy the matrix to the device (syevd overwrites it), ask for the workspace
// size, take it from the resources' scratch (detail/state.cuh: nothing is allocated once
// the scratch has grown), call syevd, bring back the eigenvalues (ascending), the
// eigenvectors (columns of the column-major result, i.e. rows of the row-major one) and
// the status flag in one copy into pinned scratch, reverse them to descending order and
// apply the sign convention.

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

  // Device and pinned memory from the resources' scratch: nothing is allocated once it has
  // grown, so a training loop's repeated fits allocate nothing here. The matrix, the
  // eigenvalues and the status sit together, so that one copy brings all three back.
  // (A symmetric matrix reads the same row- or column-major.)
  detail::scratch_layout lay;
  const std::size_t o_mat = lay.add<double>(d * d);
  const std::size_t o_values = lay.add<double>(d);
  const std::size_t o_info = lay.add<int>(1);
  const std::size_t result_bytes = lay.bytes();
  // The workspace query takes the matrix and eigenvalue pointers (their values do not
  // change the size), so it runs on the result part before the workspace is laid out.
  unsigned char* base = st.scratch.device_bytes(result_bytes, stream);
  int lwork = 0;
  PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd_bufferSize(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n,
                                                   detail::scratch_layout::at<double>(base, o_mat), n,
                                                   detail::scratch_layout::at<double>(base, o_values), &lwork));
  const std::size_t o_work = lay.add<double>(static_cast<std::size_t>(lwork > 0 ? lwork : 1));
  base = st.scratch.device_bytes(lay.bytes(), stream);
  double* mat = detail::scratch_layout::at<double>(base, o_mat);
  double* values = detail::scratch_layout::at<double>(base, o_values);
  int* info = detail::scratch_layout::at<int>(base, o_info);
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(mat, a.data(), d * d * sizeof(double), cudaMemcpyHostToDevice, stream));
  PLAYAUG_CUSOLVER_TRY(cusolverDnDsyevd(solver, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, mat, n, values,
                                        detail::scratch_layout::at<double>(base, o_work), lwork, info));
  unsigned char* host = st.scratch.host_bytes(result_bytes);
  PLAYAUG_CUDA_TRY(cudaMemcpyAsync(host, base, result_bytes, cudaMemcpyDeviceToHost, stream));
  PLAYAUG_CUDA_TRY(cudaStreamSynchronize(stream));
  const double* v = detail::scratch_layout::at<double>(host, o_mat);
  const double* w = detail::scratch_layout::at<double>(host, o_values);
  const int status = *detail::scratch_layout::at<int>(host, o_info);
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
