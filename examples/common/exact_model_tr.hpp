// What the trust region does with an exact model, the system-independent part: TR-QN
// (rmpc::optim::TrustRegion, the paper's radii) on an example's deterministic closed-loop cost
// J(theta), with g and H of J itself by central differences (rl::closed_loop_gradient,
// relative step H; the Hessian from differences of g with 100 H) in place of the critic; a
// stop at the radius floor restarts as the loop's restart_on_stop does. It separates what the
// critic costs the learning from what the nonsmooth J costs the trust region (README, Results:
// "The trust region with an exact model"). An example supplies J and theta0
// (examples/linear_2d/exact_model_tr.cpp, examples/two_mass/exact_model_tr.cpp).
//
//   PROGRAM [--iterations K] [--model-scale S] [--expand-factor F] [--step H]
//
// --model-scale S tells the trust region (g, H) / S: the RL loop's DPG model is a mean per
// transition while J sums an episode's 50 steps, so S = 50 reproduces the loop's ratio test
// (rho 50 times the honest one) and S = 1 is the honest model.
#pragma once

#include <rmpc/optim/trust_region.hpp>
#include <rmpc/rl/model_diagnosis.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace examples_common {

/// Runs the study on J (theta -> mean closed-loop cost, +inf where a closed loop fails) from
/// theta0 with the command line's options; prints one line per trial and the final theta.
/// Returns the exit status (2: a bad command line).
template <int np, typename Cost>
int run_exact_model_tr(const char* program, int argc, char** argv,
                       const Eigen::Matrix<double, np, 1>& theta0, Cost&& J) {
  using Theta = Eigen::Matrix<double, np, 1>;
  using ThetaMatrix = Eigen::Matrix<double, np, np>;
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
                   "usage: %s [--iterations K] [--model-scale S] [--expand-factor F] [--step H]\n",
                   program);
      return 2;
    }
  }
  // g and H of J by central differences (H from differences of g), rl/model_diagnosis.hpp's.
  const auto gradient = [&](const Theta& t) { return rmpc::rl::closed_loop_gradient(t, J, step); };
  const auto model = [&](const Theta& t, Theta& g, ThetaMatrix& H) {
    g = gradient(t);
    for (int i = 0; i < np; ++i) {  // the same relative step, on g
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
  rmpc::optim::TrustRegion<double, np> tr(rmpc::optim::TrustRegionModel::exact_hessian, settings);
  Theta g;
  ThetaMatrix H;
  tr.reset(theta0, J(theta0));
  model(tr.x(), g, H);
  tr.tell_model(g, H);
  std::printf("iteration J accepted step_norm ratio radius\n0 %.6f 1 0 nan %.3g\n", tr.value(),
              tr.radius());
  std::fflush(stdout);
  for (int it = 1; it < iterations && tr.status() == rmpc::optim::Status::running; ++it) {
    const auto& trial = tr.ask();
    if (tr.status() != rmpc::optim::Status::running) break;
    const double step_norm = trial.step.norm();
    const auto out = tr.tell_value(J(trial.point));
    std::printf("%d %.6f %d %.3g %.3g %.3g\n", it, tr.value(), int(out.accepted), step_norm,
                out.ratio, out.radius);
    std::fflush(stdout);
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
  for (int i = 0; i < np; ++i) std::printf(" %.5f", tr.x()(i));
  std::printf("\n");
  return 0;
}

}  // namespace examples_common
