// The message of the exception E (default std::invalid_argument) that f() throws, or "" when
// it throws none: tests of programmer-error checks assert that the message names the argument
// or setting.
#pragma once

#include <stdexcept>
#include <string>

namespace rmpc::testing {

template <typename E = std::invalid_argument, typename F>
std::string thrown_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return {};
}

}  // namespace rmpc::testing
