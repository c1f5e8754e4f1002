// rankflow/errors.h — exceptions thrown by the public API.
//
// Every error derives from rankflow::Error, whose code() says what kind of
// failure it is. A task that throws reaches Get() as a TaskError carrying the
// remote message, the task's name and the rank it ran on.
#pragma once

#include <stdexcept>
#include <string>

namespace rankflow {

/// Kinds of failure visible to users (mirrors the runtime's status codes).
enum class ErrorCode : int {
  kInvalidArgument = 1,
  kNotFound,
  kTypeMismatch,
  kTooLarge,
  kTimeout,
  kInfeasible,
  kMalformed,
  kUnauthenticated,
  kLinkError,
  kRankDied,
  kTaskFailed,
  kShutdown,
  kInternal,
  kActorDied,
  kObjectLost,
};

/// Base of all rankflow exceptions.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

/// A remote task threw; carries where and what.
class TaskError : public Error {
 public:
  TaskError(std::string task_name, int rank, std::string remote_message)
      : Error(ErrorCode::kTaskFailed, "task '" + task_name + "' failed on rank " +
                                          std::to_string(rank) + ": " + remote_message),
        task_name_(std::move(task_name)),
        rank_(rank),
        remote_message_(std::move(remote_message)) {}
  const std::string& task_name() const { return task_name_; }
  int rank() const { return rank_; }
  const std::string& remote_message() const { return remote_message_; }

 private:
  std::string task_name_;
  int rank_;
  std::string remote_message_;
};

/// Get() with a timeout found the object not ready in time; nothing is lost.
class TimeoutError : public Error {
 public:
  explicit TimeoutError(const std::string& what) : Error(ErrorCode::kTimeout, what) {}
};

}  // namespace rankflow
