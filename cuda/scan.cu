// Exclusive prefix sums of per-segment counts (cub::DeviceScan), used to map flat thread
// indices to ragged playlists.

#include <cub/device/device_scan.cuh>

#include <cstdint>

#include "detail/common.cuh"

namespace playaug::detail {

void exclusive_scan(const std::uint64_t* counts, std::uint64_t* offsets, std::size_t count,
                    cudaStream_t stream) {
  const auto items = static_cast<std::int64_t>(count + 1);
  std::size_t temp_bytes = 0;
  PLAYAUG_CUDA_TRY(cub::DeviceScan::ExclusiveSum(nullptr, temp_bytes, counts, offsets, items, stream));
  device_buffer<unsigned char> temp(temp_bytes == 0 ? 1 : temp_bytes, stream);
  PLAYAUG_CUDA_TRY(cub::DeviceScan::ExclusiveSum(temp.data(), temp_bytes, counts, offsets, items, stream));
}

}  // namespace playaug::detail
