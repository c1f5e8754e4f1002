#include "common/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace rankflow::logging {

void Configure(int rank, const std::string& host, const std::string& level) {
  static auto logger = [] {
    auto l = spdlog::stderr_color_mt("rankflow");
    spdlog::set_default_logger(l);
    return l;
  }();
  std::string rank_str = rank >= 0 ? std::to_string(rank) : "?";
  logger->set_pattern("[%H:%M:%S.%e] [rank " + rank_str + "@" + host + "] [%^%l%$] %v");
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::warn);
}

}  // namespace rankflow::logging
