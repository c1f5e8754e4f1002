// Status and Result<T>: how the runtime reports errors internally.
// Codes say how much is broken; only the public API layer throws.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace rankflow {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument,   // caller passed something malformed
  kNotFound,          // unknown function, object, rank
  kTypeMismatch,      // bytes do not decode as the expected type
  kTooLarge,          // message or object above a configured limit
  kTimeout,           // deadline passed, nothing lost
  kInfeasible,        // no rank can ever satisfy the request
  kMalformed,         // bytes from the network that do not parse
  kUnauthenticated,   // message without the job's token
  kLinkError,         // one endpoint failed
  kRankDied,          // a peer rank is gone
  kTaskFailed,        // user code threw
  kShutdown,          // runtime is stopping
  kInternal,          // bug or unexpected library failure
  kActorDied,         // the actor was killed, exited or could not be built
  kObjectLost,        // every copy of an object is gone
};

const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}     // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace rankflow

#define RANKFLOW_RETURN_IF_ERROR(expr)      \
  do {                                      \
    ::rankflow::Status _st = (expr);        \
    if (!_st.ok()) return _st;              \
  } while (0)
