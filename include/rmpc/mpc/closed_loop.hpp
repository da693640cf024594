// Closed-loop simulation s_{k+1} = f(s_k, u_k), u_k = policy(s_k), with the accumulated stage
// cost J = sum_{k=0}^{steps-1} L(s_k, u_k) (method.md §1: episodes of 50 steps, gamma = 1).
#pragma once

#include "rmpc/mpc/model.hpp"

#include <Eigen/Core>

#include <stdexcept>
#include <string>

namespace rmpc::mpc {

template <typename Scalar, int NX, int NU>
struct ClosedLoopResult {
  bool ok = false;  ///< false: the policy reported a failure at step failed_step.
  int failed_step = -1;
  Scalar cost = Scalar(0);  ///< sum of stage costs over the simulated steps
  Eigen::Matrix<Scalar, NX, Eigen::Dynamic> states;  ///< s_0..s_steps (columns)
  Eigen::Matrix<Scalar, NU, Eigen::Dynamic> inputs;  ///< u_0..u_{steps-1}
};

/// policy(s, u) -> bool fills u (false: stop, ok = false); step(s, u) -> next state;
/// stage_cost(s, u) -> Scalar. Sizes are checked before any conversion to the fixed-size
/// types (std::invalid_argument naming the argument): s0 must have NX entries when NX is fixed,
/// nu must equal NU when NU is fixed, and what policy and step return must keep the sizes.
template <typename Scalar, int NX, int NU, typename DerivedS0, typename Policy, typename Step,
          typename StageCost>
ClosedLoopResult<Scalar, NX, NU> simulate_closed_loop(const Eigen::MatrixBase<DerivedS0>& s0,
                                                      int steps, Policy&& policy, Step&& step,
                                                      StageCost&& stage_cost,
                                                      Eigen::Index nu = NU) {
  const Eigen::Index nx = s0.rows();
  if (s0.cols() != 1 || (NX != Eigen::Dynamic && nx != NX) || nx < 1)
    throw std::invalid_argument("simulate_closed_loop: s0 is " + std::to_string(s0.rows()) + "x" +
                                std::to_string(s0.cols()) +
                                ", expected a vector of NX = " + std::to_string(NX) + " entries");
  if (nu < 0 || (NU != Eigen::Dynamic && nu != NU))
    throw std::invalid_argument("simulate_closed_loop: nu = " + std::to_string(nu) +
                                ", expected NU = " + std::to_string(NU) +
                                " (pass nu for a dynamic NU)");
  if (steps < 0)
    throw std::invalid_argument("simulate_closed_loop: steps = " + std::to_string(steps) +
                                " is negative");
  ClosedLoopResult<Scalar, NX, NU> out;
  out.states.resize(nx, steps + 1);
  out.inputs.resize(nu, steps);
  detail::assign_checked(out.states.col(0), s0);
  Eigen::Matrix<Scalar, NU, 1> u(nu);
  u.setZero();
  for (int k = 0; k < steps; ++k) {
    const Eigen::Matrix<Scalar, NX, 1> s = out.states.col(k);
    if (!policy(s, u)) {
      out.failed_step = k;
      out.states.conservativeResize(Eigen::NoChange, k + 1);
      out.inputs.conservativeResize(Eigen::NoChange, k);
      return out;
    }
    if (u.size() != nu)
      throw std::invalid_argument("simulate_closed_loop: policy resized u to " +
                                  std::to_string(u.size()) +
                                  " entries, expected nu = " + std::to_string(nu));
    out.inputs.col(k) = u;
    out.cost += stage_cost(s, u);
    const auto next = step(s, u);
    if (next.rows() != nx || next.cols() != 1)
      throw std::invalid_argument("simulate_closed_loop: step returned a " +
                                  std::to_string(next.rows()) + "x" + std::to_string(next.cols()) +
                                  " state, expected nx = " + std::to_string(nx) + " entries");
    detail::assign_checked(out.states.col(k + 1), next);
  }
  out.ok = true;
  return out;
}

}  // namespace rmpc::mpc
