// The paper's MPC QP (2-D system, |u| <= 1, soft state bounds with L1 weight 100; method.md
// section 2) condensed to n = N inputs, solved along closed loops from the 50 training
// states: cold, warm-started from the previous step's row state, and against one dense LDLT
// factor+solve of the same instance's KKT system (its active set), measured in one run.
// Counters: us_per_solve, and ratio_to_ldlt = solve time / LDLT time.
#include "rmpc/mpc/condensing.hpp"
#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/two_sided.hpp"

#include <benchmark/benchmark.h>
#include <Eigen/Dense>

#include <ctime>
#include <cmath>
#include <vector>

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using Solver = rmpc::qp::DenseSolver<double>;

struct Instance {
  VectorXd g, d;
  Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> row_state;
  bool first_of_trajectory = false;
};

struct Workload {
  rmpc::qp::Problem<double> problem;
  rmpc::mpc::CondensedQp<double> qp;
  std::vector<Instance> instances;
  std::vector<MatrixXd> kkt;  // per instance, with its active set
};

// The training initial states of method.md (first 10 of them: the loops are long enough).
const double kStates[10][2] = {{0.5, 0.5},          {0.50603067, 0.13018326},
                               {0.2, 0.1},          {0.6, -0.3},
                               {0.05, -0.2},        {0.1, -0.5},
                               {0.9, 0.9},          {0.3, 0.8},
                               {0.30882, -0.13558}, {0.75, -0.9}};

Workload make_workload(Index horizon, bool soft_states) {
  rmpc::mpc::LqData<double, 2, 1> data;
  data.A << 1.0, 0.25, 0.0, 1.0;  // theta0 model
  data.B << 0.1, 0.3;
  data.Q.setIdentity();
  data.R << 0.5;
  data.P << 5.6864860847, 1.3312047384, 1.3312047384, 3.3367363667;
  data.u_lb << -1;
  data.u_ub << 1;
  if (soft_states) {
    data.x_lb << 0, -1;
    data.x_ub << 1, 1;
    data.x_soft_weight.setConstant(100);
  }
  Workload w;
  rmpc::mpc::condense(data, horizon, w.qp);
  const Index n = w.qp.H.rows(), m = w.qp.C.rows();
  w.problem.resize(n, 0, m);
  w.problem.H = w.qp.H;
  w.problem.C = w.qp.C;
  rmpc::mpc::condensed_soft_weights(data, horizon, w.problem.soft_weight);
  const Eigen::Matrix2d A_true = (Eigen::Matrix2d() << 0.9, 0.35, 0.0, 1.1).finished();
  const Eigen::Vector2d B_true(0.0813, 0.2);
  Solver solver;
  solver.compute(w.problem);
  for (const auto& s0 : kStates) {
    Eigen::Vector2d s(s0[0], s0[1]);
    for (int k = 0; k < 50; ++k) {
      Instance inst;
      inst.g = w.qp.G * s + w.qp.g0;
      inst.d = w.qp.D * s + w.qp.d0;
      inst.first_of_trajectory = k == 0;
      solver.update_linear_terms(inst.g, w.problem.b, inst.d);
      const auto& res = solver.solve();
      inst.row_state = res.row_state;
      // KKT matrix of this instance's active set, for the LDLT baseline.
      std::vector<Index> act;
      for (Index i = 0; i < m; ++i)
        if (res.row_state(i) == rmpc::qp::RowState::active) act.push_back(i);
      const Index q = Index(act.size());
      MatrixXd K = MatrixXd::Zero(n + q, n + q);
      K.topLeftCorner(n, n) = w.problem.H;
      for (Index j = 0; j < q; ++j) {
        K.block(n + j, 0, 1, n) = w.problem.C.row(act[size_t(j)]);
        K.block(0, n + j, n, 1) = w.problem.C.row(act[size_t(j)]).transpose();
      }
      w.kkt.push_back(K);
      w.instances.push_back(inst);
      s = A_true * s + B_true * res.z(0);
    }
  }
  return w;
}

// Time of one LDLT factor + solve of the instances' KKT systems, in seconds per instance.
double ldlt_seconds(const Workload& w) {
  VectorXd rhs, sol;
  Eigen::LDLT<MatrixXd> ldlt;
  const int reps = 20;
  const std::clock_t t0 = std::clock();  // CPU time, as Google Benchmark's rates use
  for (int r = 0; r < reps; ++r)
    for (const auto& K : w.kkt) {
      rhs.setOnes(K.rows());
      ldlt.compute(K);
      sol = ldlt.solve(rhs);
      benchmark::DoNotOptimize(sol.data());
    }
  const double dt = double(std::clock() - t0) / CLOCKS_PER_SEC;
  return dt / (reps * double(w.kkt.size()));
}

template <typename FixedSolver = Solver>
void run(benchmark::State& state, bool warm, bool soft_states) {
  const Workload w = make_workload(state.range(0), soft_states);
  FixedSolver solver;
  typename FixedSolver::ProblemType problem;
  problem.resize(w.problem.H.rows(), 0, w.problem.C.rows());
  problem.H = w.problem.H;
  problem.C = w.problem.C;
  problem.soft_weight = w.problem.soft_weight;
  solver.compute(problem);
  typename FixedSolver::VectorN g;
  typename FixedSolver::VectorM d;
  const typename FixedSolver::VectorP b = problem.b;
  const double ldlt = ldlt_seconds(w);
  size_t solves = 0;
  typename FixedSolver::RowStates previous;
  for (auto _ : state) {
    for (const auto& inst : w.instances) {
      g = inst.g;
      d = inst.d;
      solver.update_linear_terms(g, b, d);
      const auto& res =
          (warm && !inst.first_of_trajectory) ? solver.solve(previous) : solver.solve();
      previous = res.row_state;
      benchmark::DoNotOptimize(res.z.data());
    }
    solves += w.instances.size();
  }
  state.counters["us_per_solve"] = benchmark::Counter(
      double(solves) * 1e-6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["ldlt_us"] = ldlt * 1e6;
  state.counters["n"] = double(w.problem.H.rows());
  state.counters["rows"] = double(w.problem.C.rows());
  state.SetItemsProcessed(int64_t(solves));
  // ratio_to_ldlt is printed by the counter arithmetic below (seconds per solve / ldlt).
  state.counters["ratio_to_ldlt"] = benchmark::Counter(
      double(solves) * ldlt, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// The same loops with the QP written in the two-sided form (|u_k| <= 1 as simple bounds, the
// state bounds as two-sided soft rows) through qp::TwoSidedSolver: its cost over the one-sided
// solve above (BM_QpSoftCold/Warm in the same run) is the layer's (writing the sides, mapping
// the answer back).
void run_two_sided(benchmark::State& state, bool warm) {
  const Workload w = make_workload(state.range(0), true);
  const Index n = w.problem.H.rows(), N = state.range(0);
  const rmpc::mpc::CondensedRowLayout layout{2, 1, N, 0, 0};
  rmpc::qp::TwoSidedProblem<double> q(n, 0, 2 * (N - 1));
  q.H = w.problem.H;
  for (Index k = 1; k < N; ++k)
    for (Index i = 0; i < 2; ++i) {
      const Index r = 2 * (k - 1) + i;
      q.C.row(r) = w.problem.C.row(layout.state_row(k, i, true));
      q.soft_weight(r) = w.problem.soft_weight(layout.state_row(k, i, true));
    }
  // Sides per instance, in the two-sided layout.
  const auto sides = [&](const VectorXd& d, VectorXd& lb, VectorXd& ub, VectorXd& l, VectorXd& u) {
    lb.resize(n), ub.resize(n), l.resize(q.C.rows()), u.resize(q.C.rows());
    for (Index k = 0; k < N; ++k) {
      ub(k) = d(layout.input_row(k, 0, true));
      lb(k) = -d(layout.input_row(k, 0, false));
    }
    for (Index k = 1; k < N; ++k)
      for (Index i = 0; i < 2; ++i) {
        u(2 * (k - 1) + i) = d(layout.state_row(k, i, true));
        l(2 * (k - 1) + i) = -d(layout.state_row(k, i, false));
      }
  };
  std::vector<VectorXd> lbs(w.instances.size()), ubs = lbs, ls = lbs, us = lbs;
  for (size_t k = 0; k < w.instances.size(); ++k)
    sides(w.instances[k].d, lbs[k], ubs[k], ls[k], us[k]);
  sides(w.instances[0].d, q.lb, q.ub, q.l, q.u);
  rmpc::qp::TwoSidedSolver<double> solver;
  solver.compute(q);
  const VectorXd b(0);
  size_t solves = 0;
  std::vector<rmpc::qp::SideState> bound_state, row_state;
  for (auto _ : state) {
    for (size_t k = 0; k < w.instances.size(); ++k) {
      const auto& inst = w.instances[k];
      solver.update_linear_terms(inst.g, b, lbs[k], ubs[k], ls[k], us[k]);
      const auto& res = (warm && !inst.first_of_trajectory) ? solver.solve(bound_state, row_state)
                                                            : solver.solve();
      bound_state = res.bound_state;
      row_state = res.row_state;
      benchmark::DoNotOptimize(res.z.data());
    }
    solves += w.instances.size();
  }
  state.counters["us_per_solve"] = benchmark::Counter(
      double(solves) * 1e-6, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_QpSoftCold(benchmark::State& s) { run(s, false, true); }
void BM_QpSoftWarm(benchmark::State& s) { run(s, true, true); }
// Compile-time sizes (what rmpc::mpc uses for the paper's MPC): N = 10, 56 rows.
using FixedSolver10 = rmpc::qp::DenseSolver<double, 10, 0, 56>;
void BM_QpSoftColdFixed(benchmark::State& s) { run<FixedSolver10>(s, false, true); }
void BM_QpSoftWarmFixed(benchmark::State& s) { run<FixedSolver10>(s, true, true); }
void BM_QpInputBoundsCold(benchmark::State& s) { run(s, false, false); }
void BM_QpInputBoundsWarm(benchmark::State& s) { run(s, true, false); }
void BM_QpSoftColdTwoSided(benchmark::State& s) { run_two_sided(s, false); }
void BM_QpSoftWarmTwoSided(benchmark::State& s) { run_two_sided(s, true); }

}  // namespace

BENCHMARK(BM_QpSoftCold)->Arg(10)->Arg(20)->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QpSoftWarm)->Arg(10)->Arg(20)->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QpSoftColdFixed)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QpSoftWarmFixed)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QpInputBoundsCold)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QpInputBoundsWarm)->Arg(10)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QpSoftColdTwoSided)->Arg(10)->Arg(20)->Arg(50)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_QpSoftWarmTwoSided)->Arg(10)->Arg(20)->Arg(50)->Unit(benchmark::kMicrosecond);
