// Exploration of method.md section 4 (the seeding of the loop's random streams, the draws of d
// included, is rl/random_streams.hpp).
//
// At each step, with probability eps, the MPC is solved with the extra linear cost
// d (u_0 - u_1), d ~ N(0, sigma^2), and its u_0 is applied. eps = max(floor, eps0 decay^i)
// after i RL iterations (paper: eps0 = 1, decay = 0.01^(1/8), floor = 0.01, sigma = 0.1).
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <algorithm>
#include <cmath>

namespace rmpc::rl {

template <typename Scalar = double>
struct ExplorationSettings {
  Scalar initial_probability = Scalar(1);  ///< eps at iteration 0 (paper: 1).
  Scalar decay =
      std::pow(Scalar(0.01), Scalar(1) / 8);  ///< eps *= decay per iteration (paper: 0.01^(1/8)).
  Scalar floor = Scalar(0.01);                ///< eps never below (paper: 0.01).
  Scalar sigma = Scalar(0.1);                 ///< std of d in d (u_0 - u_1) (paper: 0.1).

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(initial_probability >= Scalar(0) && initial_probability <= Scalar(1),
                    "ExplorationSettings::initial_probability", "in [0, 1]", initial_probability);
    require_setting(decay > Scalar(0) && decay <= Scalar(1), "ExplorationSettings::decay",
                    "in (0, 1]", decay);
    require_setting(floor >= Scalar(0) && floor <= Scalar(1), "ExplorationSettings::floor",
                    "in [0, 1]", floor);
    require_setting(rmpc::detail::finite_nonnegative(sigma), "ExplorationSettings::sigma",
                    "finite and >= 0", sigma);
  }
};

/// eps after `iteration` completed RL iterations.
template <typename Scalar>
Scalar exploration_probability(const ExplorationSettings<Scalar>& s, int iteration) {
  return std::max(s.floor, s.initial_probability * std::pow(s.decay, Scalar(iteration)));
}

}  // namespace rmpc::rl
