// Exploration probability of method.md section 4: eps = max(floor, eps0 decay^i), the paper's
// schedule 1 -> 0.01 in 8 iterations, and the settings' ranges.
#include "rmpc/rl/exploration.hpp"

#include "rmpc_catch.hpp"

#include <stdexcept>

TEST_CASE("Exploration probability follows the paper's schedule", "[exploration]") {
  rmpc::rl::ExplorationSettings<double> ex;
  CHECK(rmpc::rl::exploration_probability(ex, 0) == 1.0);
  CHECK(rmpc::rl::exploration_probability(ex, 8) == Approx(0.01));
  CHECK(rmpc::rl::exploration_probability(ex, 4) == Approx(0.1));
  CHECK(rmpc::rl::exploration_probability(ex, 30) == 0.01);
  ex.decay = 0.0;
  CHECK_THROWS_AS(ex.validate(), std::invalid_argument);
}
