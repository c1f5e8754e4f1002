#include "common/status.h"

namespace rankflow {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kTypeMismatch: return "TypeMismatch";
    case StatusCode::kTooLarge: return "TooLarge";
    case StatusCode::kTimeout: return "Timeout";
    case StatusCode::kInfeasible: return "Infeasible";
    case StatusCode::kMalformed: return "Malformed";
    case StatusCode::kUnauthenticated: return "Unauthenticated";
    case StatusCode::kLinkError: return "LinkError";
    case StatusCode::kRankDied: return "RankDied";
    case StatusCode::kTaskFailed: return "TaskFailed";
    case StatusCode::kShutdown: return "Shutdown";
    case StatusCode::kInternal: return "Internal";
    case StatusCode::kActorDied: return "ActorDied";
    case StatusCode::kObjectLost: return "ObjectLost";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace rankflow
