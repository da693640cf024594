// Price of quadratic soft penalties: the paper's MPC (N = 10, np = 8) with its soft state
// bounds as exact-L1 rows (10 variables, 56 rows) against the same bounds with an added
// quadratic weight, i.e. 18 slack variables (28 variables, 74 rows). Warm-started solve alone
// and policy with du0/dtheta, d2u0/dtheta2, du0/ds, on the same closed-loop states; read
// the ratios from one run.
#include "../examples/linear_2d/paper_model.hpp"
#include "paper_states.hpp"

#include <benchmark/benchmark.h>

#include <vector>

namespace {

/// The paper's model with penalty w v + rho v^2 on the state bounds.
struct QuadraticSoftModel {
  linear_2d::PaperModel base;
  template <class T>
  void operator()(const Eigen::Matrix<T, linear_2d::np, 1>& t,
                  rmpc::mpc::LqData<T, linear_2d::nx, linear_2d::nu>& out) const {
    base(t, out);
    out.x_soft_quadratic.setConstant(T(50.0));
  }
};

constexpr int slacks = rmpc::mpc::soft_slack_count(linear_2d::horizon, linear_2d::nx);
using SlackMpc = rmpc::mpc::LqMpc<double, linear_2d::nx, linear_2d::nu, linear_2d::horizon,
                                  linear_2d::np, 0, slacks>;

template <class Mpc, class Model>
void run(benchmark::State& state, const Model& model, bool derivatives) {
  rmpc_bench::run_policy<Mpc>(state, model, derivatives, /*warm=*/true);
}

void BM_L1RowsSolveWarm(benchmark::State& s) {
  run<linear_2d::PaperMpc>(s, linear_2d::PaperModel{}, false);
}
void BM_L1RowsPolicyWarm(benchmark::State& s) {
  run<linear_2d::PaperMpc>(s, linear_2d::PaperModel{}, true);
}
void BM_SlackSolveWarm(benchmark::State& s) { run<SlackMpc>(s, QuadraticSoftModel{}, false); }
void BM_SlackPolicyWarm(benchmark::State& s) { run<SlackMpc>(s, QuadraticSoftModel{}, true); }

}  // namespace

BENCHMARK(BM_L1RowsSolveWarm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_L1RowsPolicyWarm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SlackSolveWarm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SlackPolicyWarm)->Unit(benchmark::kMicrosecond);
