// common/logging.h — spdlog, each line prefixed with rank and host.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace rankflow::logging {

/// Sets the global logger's pattern to "[time] [rank R@host] [level] msg" and
/// its level from `level` ("trace" .. "off"). Safe to call again after the
/// rank is known.
void Configure(int rank, const std::string& host, const std::string& level);

}  // namespace rankflow::logging

#define RF_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define RF_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define RF_INFO(...) ::spdlog::info(__VA_ARGS__)
#define RF_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define RF_ERROR(...) ::spdlog::error(__VA_ARGS__)
