// runtime/registry.h — the process-wide table of remote functions.
//
// Filled at static-initialisation time (RANKFLOW_REMOTE) or before Init()
// (rankflow::Register); read-only afterwards. Lookup by name on the rank that
// runs a task, by address on the rank that submits it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rankflow/remote.h"
#include "scheduler/run_time_estimate.h"

namespace rankflow::runtime {

struct FunctionEntry {
  enum class Kind { kFunction, kFactory, kMethod };
  Kind kind = Kind::kFunction;
  std::string name;
  const void* fn = nullptr;
  internal::Thunk thunk = nullptr;             // kFunction
  internal::FactoryThunk factory = nullptr;    // kFactory
  internal::Deleter deleter = nullptr;         // kFactory
  std::string type_name;                       // kFactory, kMethod: the actor's C++ type
  std::string method_bytes;                    // kMethod: the member pointer
  internal::MethodThunk method = nullptr;      // kMethod
  uint32_t arity = 0;
  scheduler::RunTimeEstimate run_time;         // kFunction: this rank's recent runs
};

/// The entry registered under `name`, or nullptr.
const FunctionEntry* FindFunction(std::string_view name);
/// Ends registration (called when a runtime starts); lookups then take no lock.
void FreezeRegistry();
/// All registered names, sorted.
std::vector<std::string> RegisteredFunctionNames();

}  // namespace rankflow::runtime
