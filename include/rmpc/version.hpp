// The library version. Kept equal to project(rmpc VERSION ...) in the top-level
// CMakeLists.txt: examples/linear_2d/CMakeLists.txt stops the configure step when they differ.
#pragma once

#define RMPC_VERSION_MAJOR 0
#define RMPC_VERSION_MINOR 1
#define RMPC_VERSION_PATCH 0
#define RMPC_VERSION_STRING "0.1.0"

namespace rmpc {
/// "MAJOR.MINOR.PATCH" (RMPC_VERSION_STRING), recorded in the examples' results files.
inline constexpr const char* version_string = RMPC_VERSION_STRING;
}  // namespace rmpc
