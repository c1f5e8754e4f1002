// rankflow/version.h — the library version (set in CMakeLists.txt's project()).
#pragma once

namespace rankflow {
/// The version this header belongs to, "major.minor.patch".
const char* Version();
}  // namespace rankflow
