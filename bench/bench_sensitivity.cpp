// Sensitivities of a QP the size of the paper's MPC QP (n = 10, m = 56 rows of which 36 soft,
// np = 8 parameters, every datum theta-dependent: the dense worst case) relative to one
// solve of the same QP, all measured in one run:
//   solve                 cold Goldfarb-Idnani solve
//   first_order           dz/dtheta: np back-solves on the solver's factorization
//   first_second_full     + d2z/dtheta2 for all pairs: np(np+1)/2 more back-solves
//   first_second_adjoint  + e'd2z/dtheta2 for one output by one adjoint solve (what the
//                         policy needs: d2u0/dtheta2)
// Counter ratio_to_solve = time / solve time (solve time measured in the same process).
#include "rmpc/qp/sensitivity.hpp"

#include <benchmark/benchmark.h>

#include <ctime>
#include <random>

namespace {

constexpr int n = 10, m = 56, np = 8;
using Problem = rmpc::qp::Problem<double, n, Eigen::Dynamic, m>;
using Solver = rmpc::qp::DenseSolver<double, n, Eigen::Dynamic, m>;
using Derivs = rmpc::qp::ProblemDerivatives<double, n, Eigen::Dynamic, m>;
using Sens = rmpc::qp::Sensitivity<double, n, Eigen::Dynamic, m, np>;

struct Setup {
  Problem problem;
  Derivs dx;
};

Setup make_setup() {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> nd;
  Setup s;
  s.problem.resize(n, 0, m);
  Eigen::Matrix<double, n, n> a;
  for (int i = 0; i < a.size(); ++i) a.data()[i] = nd(rng);
  s.problem.H = a * a.transpose() / n + Eigen::Matrix<double, n, n>::Identity();
  for (int i = 0; i < n; ++i) s.problem.g(i) = 3 * nd(rng);
  for (int i = 0; i < s.problem.C.size(); ++i) s.problem.C.data()[i] = nd(rng);
  for (int i = 0; i < m; ++i) s.problem.d(i) = 1.0 + 0.2 * nd(rng);
  for (int i = 20; i < m; ++i) s.problem.soft_weight(i) = 5.0;
  s.dx.resize(np, n, 0, m, true);
  auto fill = [&](auto& v, double scale) {
    for (auto& x : v)
      for (int i = 0; i < x.size(); ++i) x.data()[i] = scale * nd(rng);
  };
  fill(s.dx.dH, 0.05), fill(s.dx.dg, 0.3), fill(s.dx.dC, 0.1), fill(s.dx.dd, 0.1);
  fill(s.dx.d2H, 0.01), fill(s.dx.d2g, 0.1), fill(s.dx.d2C, 0.02), fill(s.dx.d2d, 0.02);
  for (auto& h : s.dx.dH) h = ((h + h.transpose()) / 2).eval();
  for (auto& h : s.dx.d2H) h = ((h + h.transpose()) / 2).eval();
  s.dx.dA.clear(), s.dx.db.clear(), s.dx.d2A.clear(), s.dx.d2b.clear();
  return s;
}

// Process CPU time, like Google Benchmark's default time: less sensitive to a loaded machine.
double solve_seconds(Solver& solver, const Problem& pr) {
  const int reps = 20000;
  const std::clock_t t0 = std::clock();
  for (int r = 0; r < reps; ++r) benchmark::DoNotOptimize(solver.compute(pr).solve().z.data());
  return double(std::clock() - t0) / CLOCKS_PER_SEC / reps;
}

enum class Mode { solve, first, full, adjoint };

void run(benchmark::State& state, Mode mode) {
  const Setup s = make_setup();
  Solver solver;
  Sens sens;
  rmpc::qp::SensitivitySettings<double> settings;
  settings.second_order = mode == Mode::full;
  Eigen::Matrix<double, n, 1> e = Eigen::Matrix<double, n, 1>::Unit(0);
  Eigen::Matrix<double, np, np> hess;
  solver.compute(s.problem).solve();
  const double solve_time = solve_seconds(solver, s.problem);
  solver.compute(s.problem).solve();
  for (auto _ : state) {
    if (mode == Mode::solve) {
      benchmark::DoNotOptimize(solver.compute(s.problem).solve().z.data());
      continue;
    }
    sens.compute(solver, s.dx, settings);
    if (mode == Mode::adjoint) sens.functional_hessian(e, hess);
    benchmark::DoNotOptimize(sens.dz_dtheta().data());
    benchmark::DoNotOptimize(hess.data());
  }
  state.counters["active_rows"] = double(solver.result().num_active());
  state.counters["solve_us"] = solve_time * 1e6;
  // Rate counters invert to seconds per iteration; scaled by 1/solve_time they give ratios.
  state.counters["ratio_to_solve"] =
      benchmark::Counter(double(state.iterations()) * solve_time,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Solve(benchmark::State& s) { run(s, Mode::solve); }
void BM_FirstOrder(benchmark::State& s) { run(s, Mode::first); }
void BM_FirstSecondFull(benchmark::State& s) { run(s, Mode::full); }
void BM_FirstSecondAdjoint(benchmark::State& s) { run(s, Mode::adjoint); }

}  // namespace

BENCHMARK(BM_Solve)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FirstOrder)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FirstSecondFull)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FirstSecondAdjoint)->Unit(benchmark::kMicrosecond);
