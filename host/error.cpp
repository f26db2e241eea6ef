#include "playaug/error.hpp"

namespace playaug {

namespace {
std::string format_data_error(const std::string& file, std::uint64_t line, const std::string& message,
                              const std::string& playlist) {
  std::string s = file;
  if (line != 0) s += ":" + std::to_string(line);
  s += ": " + message;
  if (!playlist.empty()) s += " (playlist '" + playlist + "')";
  return s;
}
}  // namespace

data_error::data_error(std::string file, std::uint64_t line, std::string message, std::string playlist)
    : error(format_data_error(file, line, message, playlist)),
      file_(std::move(file)),
      line_(line),
      message_(std::move(message)),
      playlist_(std::move(playlist)) {}

cuda_unavailable::cuda_unavailable(reason_t why, const std::string& detail)
    : error(why == reason_t::not_built
                ? "CUDA requested, but this playaug was built without CUDA" +
                      (detail.empty() ? std::string() : " (" + detail + ")")
                : "CUDA requested, but no usable CUDA device was found" +
                      (detail.empty() ? std::string() : " (" + detail + ")")),
      why_(why) {}

}  // namespace playaug
