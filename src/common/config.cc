#include "common/config.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>

namespace rankflow {
namespace {

Status BadValue(const char* name, std::string_view value, const std::string& why) {
  return Status(StatusCode::kInvalidArgument,
                std::string(name) + "=\"" + std::string(value) + "\": " + why);
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Returns the value of `name`, or nullptr when it is unset or empty.
const char* Get(const EnvLookup& env, const char* name) {
  const char* value = env(name);
  return (value != nullptr && value[0] != '\0') ? value : nullptr;
}

// Reads an int within [min, max] into *out when `name` is set.
Status ReadInt(const EnvLookup& env, const char* name, int min, int max, int* out) {
  const char* value = Get(env, name);
  if (value == nullptr) return Status::Ok();
  std::string_view text = Trim(value);
  int parsed = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return BadValue(name, value, "expected an integer");
  }
  if (parsed < min || parsed > max) {
    return BadValue(name, value,
                    "must be between " + std::to_string(min) + " and " + std::to_string(max));
  }
  *out = parsed;
  return Status::Ok();
}

// Reads a boolean (1/0, true/false, yes/no, on/off) into *out when set.
Status ReadBool(const EnvLookup& env, const char* name, bool* out) {
  const char* value = Get(env, name);
  if (value == nullptr) return Status::Ok();
  std::string text = Lower(Trim(value));
  if (text == "1" || text == "true" || text == "yes" || text == "on") {
    *out = true;
  } else if (text == "0" || text == "false" || text == "no" || text == "off") {
    *out = false;
  } else {
    return BadValue(name, value, "expected 0, 1, true or false");
  }
  return Status::Ok();
}

// Reads a byte count into *out when set; `min` rejects too small values.
Status ReadBytes(const EnvLookup& env, const char* name, uint64_t min, uint64_t* out) {
  const char* value = Get(env, name);
  if (value == nullptr) return Status::Ok();
  Result<uint64_t> parsed = ParseByteSize(value);
  if (!parsed.ok()) return BadValue(name, value, parsed.status().message());
  if (parsed.value() < min) {
    return BadValue(name, value, "must be at least " + std::to_string(min) + " bytes");
  }
  *out = parsed.value();
  return Status::Ok();
}

Status ReadLogLevel(const EnvLookup& env, const char* name, std::string* out) {
  const char* value = Get(env, name);
  if (value == nullptr) return Status::Ok();
  std::string level = Lower(Trim(value));
  if (level == "warning") level = "warn";
  if (level == "err") level = "error";
  for (const char* known : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    if (level == known) {
      *out = level;
      return Status::Ok();
    }
  }
  return BadValue(name, value, "expected one of trace, debug, info, warn, error, critical, off");
}

Status ReadResources(const EnvLookup& env, const char* name,
                     std::map<std::string, double>* out) {
  const char* value = Get(env, name);
  if (value == nullptr) return Status::Ok();
  Result<std::map<std::string, double>> parsed = ParseResourceList(value);
  if (!parsed.ok()) return BadValue(name, value, parsed.status().message());
  *out = std::move(parsed.value());
  return Status::Ok();
}

}  // namespace

Result<uint64_t> ParseByteSize(std::string_view text) {
  text = Trim(text);
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  if (digits == 0) {
    return Status(StatusCode::kInvalidArgument, "expected a byte count such as 65536 or 64M");
  }
  uint64_t count = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, count);
  if (ec != std::errc()) return Status(StatusCode::kInvalidArgument, "byte count overflows");

  std::string suffix = Lower(Trim(text.substr(digits)));
  unsigned shift = 0;
  if (!suffix.empty()) {
    switch (suffix[0]) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 'b': shift = 0; break;
      default:
        return Status(StatusCode::kInvalidArgument,
                      "unknown suffix \"" + suffix + "\", expected K, M or G");
    }
    std::string_view rest = std::string_view(suffix).substr(1);
    bool valid = suffix[0] == 'b' ? rest.empty() : (rest.empty() || rest == "b" || rest == "ib");
    if (!valid) {
      return Status(StatusCode::kInvalidArgument,
                    "unknown suffix \"" + suffix + "\", expected K, M or G");
    }
  }
  if (shift > 0 && count > (std::numeric_limits<uint64_t>::max() >> shift)) {
    return Status(StatusCode::kInvalidArgument, "byte count overflows");
  }
  return count << shift;
}

Result<std::map<std::string, double>> ParseResourceList(std::string_view text) {
  std::map<std::string, double> resources;
  if (Trim(text).empty()) return resources;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = Trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return Status(StatusCode::kInvalidArgument,
                    "entry \"" + std::string(item) + "\" is not NAME:AMOUNT");
    }
    std::string name(Trim(item.substr(0, colon)));
    std::string_view amount_text = Trim(item.substr(colon + 1));
    if (name.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    "entry \"" + std::string(item) + "\" has no resource name");
    }
    double amount = 0;
    auto [ptr, ec] = std::from_chars(amount_text.data(),
                                     amount_text.data() + amount_text.size(), amount);
    if (amount_text.empty() || ec != std::errc() ||
        ptr != amount_text.data() + amount_text.size() || !std::isfinite(amount) ||
        amount < 0) {
      return Status(StatusCode::kInvalidArgument,
                    "amount \"" + std::string(amount_text) + "\" of resource \"" + name +
                        "\" is not a non-negative number");
    }
    if (!resources.emplace(name, amount).second) {
      return Status(StatusCode::kInvalidArgument,
                    "resource \"" + name + "\" is listed twice");
    }
  }
  return resources;
}

Result<RuntimeConfig> ParseRuntimeConfig(const EnvLookup& env) {
  constexpr int kIntMax = std::numeric_limits<int>::max();
  RuntimeConfig config;
  RANKFLOW_RETURN_IF_ERROR(
      ReadInt(env, "RANKFLOW_NUM_EXECUTORS", 0, 1 << 16, &config.num_executors));
  RANKFLOW_RETURN_IF_ERROR(ReadInt(env, "RANKFLOW_DRIVER_RANK", 0, kIntMax, &config.driver_rank));
  RANKFLOW_RETURN_IF_ERROR(ReadLogLevel(env, "RANKFLOW_LOG_LEVEL", &config.log_level));
  RANKFLOW_RETURN_IF_ERROR(ReadResources(env, "RANKFLOW_RESOURCES", &config.resources));
  RANKFLOW_RETURN_IF_ERROR(
      ReadBytes(env, "RANKFLOW_MAX_MESSAGE_BYTES", 1, &config.max_message_bytes));
  RANKFLOW_RETURN_IF_ERROR(ReadBytes(env, "RANKFLOW_RNDV_THRESHOLD", 0, &config.rndv_threshold));
  RANKFLOW_RETURN_IF_ERROR(ReadBool(env, "RANKFLOW_PIN_THREADS", &config.pin_threads));
  RANKFLOW_RETURN_IF_ERROR(
      ReadInt(env, "RANKFLOW_RANKS_PER_NODE", 0, kIntMax, &config.ranks_per_virtual_node));
  RANKFLOW_RETURN_IF_ERROR(ReadBool(env, "RANKFLOW_KEEP_MPI", &config.keep_mpi));
  RANKFLOW_RETURN_IF_ERROR(ReadInt(env, "RANKFLOW_SPIN_US", 0, 10'000'000, &config.spin_us));
  RANKFLOW_RETURN_IF_ERROR(ReadInt(env, "RANKFLOW_WAIT_SPIN_US", 0, 10'000'000, &config.wait_spin_us));
  RANKFLOW_RETURN_IF_ERROR(ReadBytes(env, "RANKFLOW_STORE_BYTES", 0, &config.store_bytes));
  RANKFLOW_RETURN_IF_ERROR(ReadBytes(env, "RANKFLOW_INLINE_BYTES", 0, &config.inline_bytes));
  RANKFLOW_RETURN_IF_ERROR(ReadBool(env, "RANKFLOW_STORE_PREFAULT", &config.store_prefault));
  RANKFLOW_RETURN_IF_ERROR(ReadBool(env, "RANKFLOW_CHECKSUM", &config.checksum));
  RANKFLOW_RETURN_IF_ERROR(
      ReadInt(env, "RANKFLOW_FETCH_RESEND_MS", 0, kIntMax, &config.fetch_resend_ms));
  RANKFLOW_RETURN_IF_ERROR(ReadBool(env, "RANKFLOW_SHM_LINKS", &config.shm_links));
  RANKFLOW_RETURN_IF_ERROR(
      ReadInt(env, "RANKFLOW_INLINE_TASK_US", 0, 10'000'000, &config.inline_task_us));
  if (const char* v = Get(env, "RANKFLOW_EARLY_DISPATCH"); v != nullptr && Lower(Trim(v)) != "auto") {
    bool on = false;
    if (!ReadBool(env, "RANKFLOW_EARLY_DISPATCH", &on).ok()) {
      return BadValue("RANKFLOW_EARLY_DISPATCH", v, "expected auto, 0 or 1");
    }
    config.early_dispatch = on ? RuntimeConfig::EarlyDispatch::kOn : RuntimeConfig::EarlyDispatch::kOff;
  }
  if (const char* dir = Get(env, "RANKFLOW_SPILL_DIR")) {
    config.spill_dir = dir;
  } else if (const char* tmp = Get(env, "TMPDIR")) {
    config.spill_dir = tmp;
  } else {
    config.spill_dir = "/tmp";
  }
  return config;
}

}  // namespace rankflow
