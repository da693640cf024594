// The RL loop on the two-mass chain, compiled once in two files of its own (as linear_2d):
// the model at a theta (PolicyModel: the critic in both precisions, the DPG means) in
// two_mass_loop_model.cpp, the rest of the loop in two_mass_loop.cpp.
#pragma once

#include "two_mass_model.hpp"

#include <rmpc/rl/loop.hpp>

#include <memory>

namespace two_mass {
using Loop = rmpc::rl::PolicyOptimizer<TrueSystem, TwoMassMpc>;

/// The nominal model: one DARE solve per program.
inline const TwoMassModel& model() {
  static const TwoMassModel m;
  return m;
}

/// The loop's MPC factory: the learned MPC at theta0 (built in place: an LqMpc must not be moved
/// after set_parameters).
inline std::unique_ptr<TwoMassMpc> make_mpc() {
  auto mpc = std::make_unique<TwoMassMpc>(model());
  mpc->set_parameters(theta0());
  return mpc;
}
}  // namespace two_mass

extern template class rmpc::rl::PolicyModel<two_mass::TwoMassMpc>;
extern template class rmpc::rl::PolicyOptimizer<two_mass::TrueSystem, two_mass::TwoMassMpc>;
