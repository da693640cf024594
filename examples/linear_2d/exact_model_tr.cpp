// What the trust region does with an exact model on the 2-D study (README, Results: "The
// trust region with an exact model"): examples/common/exact_model_tr.hpp's TR-QN with g and H
// of J by central differences, on the deterministic closed-loop cost over the 50 training
// states. Not part of the default build: cmake --build BUILD --target linear_2d_exact_model.
//
//   linear_2d_exact_model [--iterations K] [--model-scale S] [--expand-factor F] [--step H]
#include "common/exact_model_tr.hpp"
#include "linear_2d/initial_states.hpp"
#include "linear_2d/paper_model.hpp"

#include <rmpc/rl/environment.hpp>

#include <Eigen/Core>

#include <cmath>

namespace {

using Theta = Eigen::Matrix<double, linear_2d::np, 1>;

/// Mean closed-loop cost of theta over the states, 50 steps each, no exploration (+inf when a
/// QP fails).
double closed_loop_cost(linear_2d::PaperMpc& mpc, const linear_2d::States& states,
                        const Theta& theta) {
  if (mpc.set_parameters(theta) != rmpc::qp::Status::optimal) return HUGE_VAL;
  rmpc::mpc::PolicyRequest req;
  req.du0_dtheta = req.d2u0_dtheta2 = req.du0_ds = false;
  rmpc::rl::Episode<double, 2, 1> episode;
  double total = 0;
  for (Eigen::Index e = 0; e < states.cols(); ++e) {
    rmpc::rl::run_episode<double, 2, 1>(
        linear_2d::TrueSystem{}, Eigen::Vector2d(states.col(e)), 50,
        [&](const Eigen::Vector2d& s, const Eigen::Matrix<double, 1, 1>&, int k,
            Eigen::Matrix<double, 1, 1>& a) {
          req.warm_start = k > 0;
          const auto& r = mpc.evaluate(s, req);
          a = r.u0;
          return r.qp_status == rmpc::qp::Status::optimal;
        },
        episode);
    if (!episode.ok()) return HUGE_VAL;
    total += episode.total_cost;
  }
  return total / double(states.cols());
}

}  // namespace

int main(int argc, char** argv) {
  const linear_2d::States states = linear_2d::read_states(linear_2d::training_states_file);
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  return examples_common::run_exact_model_tr<linear_2d::np>(
      "linear_2d_exact_model", argc, argv, linear_2d::theta0(),
      [&](const Theta& t) { return closed_loop_cost(mpc, states, t); });
}
