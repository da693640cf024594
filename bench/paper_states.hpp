// States along three closed loops of the paper's untrained MPC on the true system: the
// realistic sequence a warm start sees (each state's guess is the previous state's solution).
#pragma once

#include "../examples/linear_2d/paper_model.hpp"

#include <vector>

namespace rmpc_bench {

inline std::vector<Eigen::Vector2d> closed_loop_states() {
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  mpc.set_parameters(linear_2d::theta0());
  rmpc::mpc::PolicyRequest values_only{false, false, false, false, true};
  std::vector<Eigen::Vector2d> states;
  for (const Eigen::Vector2d& s0 : {Eigen::Vector2d(0.5, 0.5), Eigen::Vector2d(0.1, -0.5), Eigen::Vector2d(0.9, -0.6)}) {
    Eigen::Vector2d s = s0;
    for (int k = 0; k < 20; ++k) {
      states.push_back(s);
      s = linear_2d::true_step(s, mpc.evaluate(s, values_only).u0(0));
    }
  }
  return states;
}

}  // namespace rmpc_bench
