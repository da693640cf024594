// Closed-loop simulation s_{k+1} = f(s_k, u_k), u_k = policy(s_k), with the accumulated stage
// cost J = sum_{k=0}^{steps-1} L(s_k, u_k) (method.md §1: episodes of 50 steps, gamma = 1).
#pragma once

#include <Eigen/Core>

namespace rmpc::mpc {

template <typename Scalar, int NX, int NU>
struct ClosedLoopResult {
  bool ok = false;          ///< false: the policy reported a failure at step failed_step.
  int failed_step = -1;
  Scalar cost = Scalar(0);  ///< sum of stage costs over the simulated steps
  Eigen::Matrix<Scalar, NX, Eigen::Dynamic> states;  ///< s_0..s_steps (columns)
  Eigen::Matrix<Scalar, NU, Eigen::Dynamic> inputs;  ///< u_0..u_{steps-1}
};

/// policy(s, u) -> bool fills u (false: stop, ok = false); step(s, u) -> next state;
/// stage_cost(s, u) -> Scalar.
template <typename Scalar, int NX, int NU, typename Policy, typename Step, typename StageCost>
ClosedLoopResult<Scalar, NX, NU> simulate_closed_loop(const Eigen::Matrix<Scalar, NX, 1>& s0, int steps, Policy&& policy,
                                                      Step&& step, StageCost&& stage_cost, Eigen::Index nu = NU) {
  ClosedLoopResult<Scalar, NX, NU> out;
  out.states.resize(s0.size(), steps + 1);
  out.inputs.resize(nu, steps);
  out.states.col(0) = s0;
  Eigen::Matrix<Scalar, NU, 1> u(nu);
  for (int k = 0; k < steps; ++k) {
    const Eigen::Matrix<Scalar, NX, 1> s = out.states.col(k);
    if (!policy(s, u)) {
      out.failed_step = k;
      out.states.conservativeResize(Eigen::NoChange, k + 1);
      out.inputs.conservativeResize(Eigen::NoChange, k);
      return out;
    }
    out.inputs.col(k) = u;
    out.cost += stage_cost(s, u);
    out.states.col(k + 1) = step(s, u);
  }
  out.ok = true;
  return out;
}

}  // namespace rmpc::mpc
