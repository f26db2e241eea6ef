// CUDA resources on a real device: the owned stream is non-blocking and never the legacy
// default stream, a borrowed stream is used as given and left alive, automatic picks the
// GPU, and errors from the engine surface as playaug exceptions.

#include <gtest/gtest.h>

#include <vector>

#include "gpu_util.hpp"
#include "playaug/error.hpp"
#include "playaug/moments.hpp"
#include "playaug/resources.hpp"

namespace {

using playaug::backend;
using playaug::resources;

TEST(CudaResources, AutomaticPicksTheGpu) {
  PLAYAUG_REQUIRE_GPU();
  EXPECT_TRUE(playaug::cuda_built());
  EXPECT_GT(playaug::cuda_device_count(), 0);
  EXPECT_TRUE(playaug::cuda_unavailable_reason().empty());
  const resources res(backend::automatic);
  EXPECT_TRUE(res.is_cuda());
  EXPECT_TRUE(res.fallback_reason().empty());
}

#if PLAYAUG_HAS_CUDA
TEST(CudaResources, OwnedStreamIsNonBlocking) {
  PLAYAUG_REQUIRE_GPU();
  const resources res(backend::cuda);
  const auto s = reinterpret_cast<cudaStream_t>(res.stream());
  ASSERT_NE(s, nullptr);
  EXPECT_NE(s, cudaStreamLegacy);
  EXPECT_NE(s, cudaStreamPerThread);
  unsigned flags = 0;
  ASSERT_EQ(cudaStreamGetFlags(s, &flags), cudaSuccess);
  EXPECT_EQ(flags & cudaStreamNonBlocking, static_cast<unsigned>(cudaStreamNonBlocking));
  EXPECT_EQ(res.stream(), res.stream()) << "the stream is created once";
  res.sync();
}

TEST(CudaResources, BorrowedStreamIsUsedAndKept) {
  PLAYAUG_REQUIRE_GPU();
  cudaStream_t s = nullptr;
  PLAYAUG_TEST_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  {
    resources res(reinterpret_cast<playaug::stream_handle>(s));
    EXPECT_TRUE(res.is_cuda());
    EXPECT_EQ(reinterpret_cast<cudaStream_t>(res.stream()), s);
    const auto x = playaug::test::random_rows(1000, 3, 5);
    const auto m = playaug::compute_moments(res, playaug::matrix_view<const float>(x.data(), 1000, 3));
    EXPECT_EQ(m.n, 1000u);
    resources moved(std::move(res));
    EXPECT_EQ(reinterpret_cast<cudaStream_t>(moved.stream()), s);
  }
  EXPECT_EQ(cudaStreamQuery(s), cudaSuccess) << "the borrowed stream must outlive the resources";
  PLAYAUG_TEST_CUDA(cudaStreamDestroy(s));
}

TEST(CudaResources, CudaErrorsBecomeExceptions) {
  PLAYAUG_REQUIRE_GPU();
  const resources res(backend::cuda);
  // An impossible allocation through the engine (a device matrix of 2^60 floats).
  const playaug::matrix_view<const float> huge(reinterpret_cast<const float*>(16), std::size_t{1} << 58, 4,
                                               playaug::memory_space::device);
  EXPECT_THROW(playaug::compute_moments(res, huge), playaug::error);
  // The resources stay usable afterwards.
  const auto x = playaug::test::random_rows(100, 2, 6);
  EXPECT_NO_THROW(playaug::compute_moments(res, playaug::matrix_view<const float>(x.data(), 100, 2)));
}
#endif

}  // namespace
