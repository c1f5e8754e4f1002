// EnvLookup: an injectable view of the process environment, so that the
// parsers of launcher and runtime variables stay pure and testable.
#pragma once

#include <cstdlib>
#include <functional>

namespace rankflow {

// Returns the value of the named variable, or nullptr when it is unset.
using EnvLookup = std::function<const char*(const char*)>;

// Returns a lookup backed by ::getenv of the current process.
inline EnvLookup ProcessEnv() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

}  // namespace rankflow
