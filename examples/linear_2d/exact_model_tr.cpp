// What the trust region does with an exact model: TR-QN (rmpc::optim::TrustRegion, the paper's
// radii) on the deterministic closed-loop cost J(theta) of the 2-D study, with g and H of J
// itself by central differences (h = 1e-6 for g, 1e-4 for H from differences of g) in place of
// the critic. It separates what the critic costs the learning from what the nonsmooth J costs
// the trust region (README, Results: "The trust region with an exact model"). Not part of the
// default build: cmake --build BUILD --target linear_2d_exact_model.
//
//   linear_2d_exact_model [--iterations K] [--model-scale S] [--expand-factor F]
//
// --model-scale S tells the trust region (g, H) / S: the RL loop's DPG model is a mean per
// transition while J sums an episode's 50 steps, so S = 50 reproduces the loop's ratio test
// (rho 50 times the honest one) and S = 1 is the honest model.
#include "linear_2d/paper_model.hpp"

#include <rmpc/optim/trust_region.hpp>

#include <Eigen/Core>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Theta = Eigen::Matrix<double, linear_2d::np, 1>;
using ThetaMatrix = Eigen::Matrix<double, linear_2d::np, linear_2d::np>;

std::vector<Eigen::Vector2d> read_states(const char* path) {
  std::vector<Eigen::Vector2d> states;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    for (char& c : line)
      if (c == ',') c = ' ';
    std::istringstream fields(line);
    double a = 0, b = 0;
    if (fields >> a >> b) states.emplace_back(a, b);  // the header line does not parse
  }
  return states;
}

/// Mean closed-loop cost of theta over the states, 50 steps each, no exploration.
double closed_loop_cost(linear_2d::PaperMpc& mpc, const std::vector<Eigen::Vector2d>& states,
                        const Theta& theta) {
  if (mpc.set_parameters(theta) != rmpc::qp::Status::optimal) return HUGE_VAL;
  rmpc::mpc::PolicyRequest req;
  req.du0_dtheta = req.d2u0_dtheta2 = req.du0_ds = false;
  double total = 0;
  for (const Eigen::Vector2d& s0 : states) {
    Eigen::Vector2d s = s0;
    for (int k = 0; k < 50; ++k) {
      req.warm_start = k > 0;
      const auto& r = mpc.evaluate(s, req);
      if (r.qp_status != rmpc::qp::Status::optimal) return HUGE_VAL;
      total += linear_2d::stage_cost(s, r.u0(0));
      s = linear_2d::true_step(s, r.u0(0));
    }
  }
  return total / double(states.size());
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 40;
  double model_scale = 1, expand_factor = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    const bool has_value = i + 1 < argc;
    if (f == "--iterations" && has_value) {
      iterations = std::atoi(argv[++i]);
    } else if (f == "--model-scale" && has_value) {
      model_scale = std::atof(argv[++i]);
    } else if (f == "--expand-factor" && has_value) {
      expand_factor = std::atof(argv[++i]);
    } else {
      std::fprintf(stderr,
                   "usage: linear_2d_exact_model [--iterations K] [--model-scale S] "
                   "[--expand-factor F]\n");
      return 2;
    }
  }
  const std::vector<Eigen::Vector2d> states =
      read_states(LINEAR_2D_DATA_DIR "/ecc24_train_initial_states.csv");
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  const auto J = [&](const Theta& t) { return closed_loop_cost(mpc, states, t); };
  const auto gradient = [&](const Theta& t) {
    Theta g;
    for (int i = 0; i < linear_2d::np; ++i) {
      Theta a = t, b = t;
      a(i) += 1e-6;
      b(i) -= 1e-6;
      g(i) = (J(a) - J(b)) / 2e-6;
    }
    return g;
  };
  const auto model = [&](const Theta& t, Theta& g, ThetaMatrix& H) {
    g = gradient(t);
    for (int i = 0; i < linear_2d::np; ++i) {
      Theta a = t, b = t;
      a(i) += 1e-4;
      b(i) -= 1e-4;
      H.col(i) = (gradient(a) - gradient(b)) / 2e-4;
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
    }
  }
  std::printf("final J %.6f (status %s) theta", tr.value(), rmpc::optim::to_string(tr.status()));
  for (int i = 0; i < linear_2d::np; ++i) std::printf(" %.5f", tr.x()(i));
  std::printf("\n");
}
