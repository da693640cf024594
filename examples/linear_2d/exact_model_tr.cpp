// What the trust region does with an exact model: TR-QN (rmpc::optim::TrustRegion, the paper's
// radii) on the deterministic closed-loop cost J(theta) of the 2-D study, with g and H of J
// itself by central differences (rl::closed_loop_gradient, relative step H = 1e-6; the Hessian
// from differences of g with 100 H) in place of the critic; a stop at the radius floor restarts
// as the loop's restart_on_stop does. It separates what the critic costs the learning
// from what the nonsmooth J costs the trust region (README, Results: "The trust region with an
// exact model"). Not part of the default build: cmake --build BUILD --target linear_2d_exact_model.
//
//   linear_2d_exact_model [--iterations K] [--model-scale S] [--expand-factor F] [--step H]
//
// --model-scale S tells the trust region (g, H) / S: the RL loop's DPG model is a mean per
// transition while J sums an episode's 50 steps, so S = 50 reproduces the loop's ratio test
// (rho 50 times the honest one) and S = 1 is the honest model.
#include "linear_2d/initial_states.hpp"
#include "linear_2d/paper_model.hpp"

#include <rmpc/optim/trust_region.hpp>
#include <rmpc/rl/environment.hpp>
#include <rmpc/rl/model_diagnosis.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using Theta = Eigen::Matrix<double, linear_2d::np, 1>;
using ThetaMatrix = Eigen::Matrix<double, linear_2d::np, linear_2d::np>;

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
  int iterations = 40;
  double model_scale = 1, expand_factor = 2, step = 1e-6;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    const bool has_value = i + 1 < argc;
    if (f == "--iterations" && has_value) {
      iterations = std::atoi(argv[++i]);
    } else if (f == "--model-scale" && has_value) {
      model_scale = std::atof(argv[++i]);
    } else if (f == "--step" && has_value) {
      step = std::atof(argv[++i]);
    } else if (f == "--expand-factor" && has_value) {
      expand_factor = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: linear_2d_exact_model [--iterations K] [--model-scale S] "
                   "[--expand-factor F] [--step H]\n");
      return 2;
    }
  }
  const linear_2d::States states = linear_2d::read_states(linear_2d::training_states_file);
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  const auto J = [&](const Theta& t) { return closed_loop_cost(mpc, states, t); };
  // g and H of J by central differences (H from differences of g), rl/model_diagnosis.hpp's.
  const auto gradient = [&](const Theta& t) { return rmpc::rl::closed_loop_gradient(t, J, step); };
  const auto model = [&](const Theta& t, Theta& g, ThetaMatrix& H) {
    g = gradient(t);
    for (int i = 0; i < linear_2d::np; ++i) {  // the same relative step, on g
      const double h = 100 * step * std::max(1.0, std::abs(t(i)));
      Theta up = t, down = t;
      up(i) += h;
      down(i) -= h;
      H.col(i) = (gradient(up) - gradient(down)) / (2 * h);
    }
    H = (0.5 * (H + H.transpose())).eval();
    g /= model_scale;
    H /= model_scale;
  };

  rmpc::optim::TrustRegionSettings<double> settings;  // the paper's TR-QN radii
  settings.expand_factor = expand_factor;
  rmpc::optim::TrustRegion<double, linear_2d::np> tr(rmpc::optim::TrustRegionModel::exact_hessian,
                                                     settings);
  Theta g;
  ThetaMatrix H;
  tr.reset(linear_2d::theta0(), J(linear_2d::theta0()));
  model(tr.x(), g, H);
  tr.tell_model(g, H);
  std::printf("iteration J accepted step_norm ratio radius\n0 %.6f 1 0 nan %.3g\n", tr.value(),
              tr.radius());
  for (int it = 1; it < iterations && tr.status() == rmpc::optim::Status::running; ++it) {
    const auto& step = tr.ask();
    if (tr.status() != rmpc::optim::Status::running) break;
    const double step_norm = step.step.norm();
    const auto out = tr.tell_value(J(step.point));
    std::printf("%d %.6f %d %.3g %.3g %.3g\n", it, tr.value(), int(out.accepted), step_norm,
                out.ratio, out.radius);
    if (out.accepted && tr.status() == rmpc::optim::Status::running) {
      model(tr.x(), g, H);
      tr.tell_model(g, H);
    } else if (tr.status() == rmpc::optim::Status::converged_radius) {
      // As the loop's restart_on_stop: a fresh model at the accepted point, radius Delta0.
      tr.reset(tr.x(), tr.value());
      model(tr.x(), g, H);
      tr.tell_model(g, H);
      std::printf("restart\n");
    }
  }
  std::printf("final J %.6f (status %s) theta", tr.value(), rmpc::optim::to_string(tr.status()));
  for (int i = 0; i < linear_2d::np; ++i) std::printf(" %.5f", tr.x()(i));
  std::printf("\n");
}
