// The anchor QPs of ../shared/spec/anchor_qps.md: the condensed MPC problem set on which the
// fastest dense active-set solvers (qpmad, DAQP) are compared with rmpc. Neither peer is a
// Debian package, so every time is reported as a ratio to a *floor* measured in the same run
// on the same instance: one solve with a cached Eigen LLT factor of H (two triangular solves).
//
// Protocols (anchor_qps.md, "Protocols"):
//   cold         H, A, C set up once per problem (untimed); each timed call hands the solver
//                the instance's g and bounds (update_linear_terms) and solves from scratch.
//   cold_active  the same, restricted to the x0 with an active constraint at the optimum.
//   warm         closed loop from the first 100 feasible x0, 30 steps of x+ = A x + B u0 with
//                the solver's own u0; step 0 cold, steps 1..29 timed, warm-started from the
//                previous step's row state.
// Every solution is checked against an independent one (see `Reference`): max |dU| <= 1e-8.
//
// Output: one line per problem and protocol,
//   cold nx2_N10 ratio_to_floor 4.68 us 0.932 floor_us 0.199 instances 959 failures 0 max_error
//   2e-15
// then the instance counts. `--quick` runs a few x0 per problem (the ctest smoke run).
// This file has its own main (bench/CMakeLists.txt links it without benchmark_main).
#include "../tests/support/anchor_qps.hpp"
#include "rmpc/qp/dense_solver.hpp"

#include <benchmark/benchmark.h>
#include <Eigen/Dense>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using Solver = rmpc::qp::DenseSolver<double>;
using Clock = std::chrono::steady_clock;
using namespace rmpc::testing::anchor;

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  const size_t mid = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + long(mid), v.end());
  return v[mid];
}

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Median cost of one call of f, timed in batches long enough that the clock does not count.
template <typename F>
double per_call_median(F&& f, int batches) {
  int reps = 1;
  for (;;) {  // grow the batch until it takes >= 20 us
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) f();
    if (seconds(t0, Clock::now()) >= 20e-6 || reps >= (1 << 16)) break;
    reps *= 2;
  }
  std::vector<double> t(static_cast<size_t>(batches));
  for (int b = 0; b < batches; ++b) {
    const auto t0 = Clock::now();
    for (int r = 0; r < reps; ++r) f();
    t[size_t(b)] = seconds(t0, Clock::now()) / reps;
  }
  return median(t);
}

// The clock's own cost per Clock::now() pair, removed from single-shot (warm) timings.
double clock_overhead() {
  std::vector<double> t(2001);
  for (auto& x : t) {
    const auto a = Clock::now();
    const auto b = Clock::now();
    x = seconds(a, b);
  }
  return median(t);
}

struct Line {
  std::string protocol, name;
  double solve_s = 0, floor_s = 0;
  int instances = 0, failures = 0;
  double max_error = 0;  ///< Largest max|dU| against the independent solution.
};

void print(const Line& l) {
  std::printf(
      "%s %s ratio_to_floor %.2f us %.3f floor_us %.3f instances %d failures %d "
      "max_error %.1e\n",
      l.protocol.c_str(), l.name.c_str(), l.floor_s > 0 ? l.solve_s / l.floor_s : 0.0,
      1e6 * l.solve_s, 1e6 * l.floor_s, l.instances, l.failures, l.max_error);
}

void run_problem(const System& sys, int N, bool quick) {
  const Condensed c = condense(sys, N);
  const Index nx = sys.A.rows();
  const std::string name = "nx" + std::to_string(nx) + "_N" + std::to_string(N);
  Solver solver;
  solver.compute(c.problem);
  if (solver.info() != rmpc::qp::Status::optimal) {
    std::printf("%s: compute() failed: %s\n", name.c_str(), solver.result().message.c_str());
    return;
  }
  const Eigen::LLT<MatrixXd> llt(c.H);
  const VectorXd b0(0);
  const int batches = quick ? 3 : 7;
  const int points = quick ? 20 : 1000;

  const std::vector<VectorXd> x0s = initial_states(sys, points);
  std::vector<VectorXd> feasible;
  std::vector<double> cold, cold_active, floor_all, floor_active;
  int failures = 0, infeasible = 0;
  double cold_error = 0, warm_error = 0;
  VectorXd u_floor(c.n());
  for (int k = 0; k < points; ++k) {
    const VectorXd& x0 = x0s[size_t(k)];
    const VectorXd g = c.g(x0), d = c.d(x0);
    solver.update_linear_terms(g, b0, d);
    const auto& res = solver.solve();
    if (res.status == rmpc::qp::Status::infeasible) {
      ++infeasible;
      continue;
    }
    const Reference ref = reference_solution(c, g, d, res.z);
    if (!res.ok() || !ref.ok || (res.z - ref.z).cwiseAbs().maxCoeff() > 1e-8) {
      ++failures;
      std::printf("# %s x0 %d: failure: status %s, reference %s, max|dU| %.3g (%s)\n", name.c_str(),
                  k, rmpc::qp::to_string(res.status), ref.ok ? "ok" : "failed",
                  ref.ok ? (res.z - ref.z).cwiseAbs().maxCoeff() : 0.0, res.message.c_str());
      continue;
    }
    cold_error = std::max(cold_error, (res.z - ref.z).cwiseAbs().maxCoeff());
    feasible.push_back(x0);
    const double t = per_call_median(
        [&] {
          solver.update_linear_terms(g, b0, d);
          benchmark::DoNotOptimize(solver.solve().z.data());
        },
        batches);
    const double f = per_call_median(
        [&] {
          u_floor = llt.solve(-g);
          benchmark::DoNotOptimize(u_floor.data());
        },
        batches);
    cold.push_back(t);
    floor_all.push_back(f);
    if (ref.any_active) cold_active.push_back(t), floor_active.push_back(f);
  }
  print({"cold", name, median(cold), median(floor_all), int(cold.size()), failures, cold_error});
  print({"cold_active", name, median(cold_active), median(floor_active), int(cold_active.size()),
         failures, cold_error});

  // Warm: closed loops from the first 100 feasible x0.
  const double overhead = clock_overhead();
  const int loops = std::min<int>(quick ? 5 : 100, int(feasible.size()));
  const int steps = 30, repeats = quick ? 2 : 5;
  std::vector<double> warm, floor_warm;
  int warm_failures = 0;
  for (int l = 0; l < loops; ++l) {
    std::vector<std::vector<double>> step_times(static_cast<size_t>(steps));
    std::vector<double> step_floor(static_cast<size_t>(steps), 0.0);
    std::vector<bool> step_ok(static_cast<size_t>(steps), true);
    for (int rep = 0; rep < repeats; ++rep) {
      VectorXd x = feasible[size_t(l)];
      Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> guess;
      for (int s = 0; s < steps; ++s) {
        const VectorXd g = c.g(x), d = c.d(x);
        const auto t0 = Clock::now();
        solver.update_linear_terms(g, b0, d);
        const auto& res = s == 0 ? solver.solve() : solver.solve(guess);
        const auto t1 = Clock::now();
        if (s > 0) step_times[size_t(s)].push_back(seconds(t0, t1) - overhead);
        if (!res.ok()) {  // an infeasible step ends this loop (reported as a failure)
          step_ok[size_t(s)] = false;
          break;
        }
        if (rep == 0 && s > 0) {
          const Reference ref = reference_solution(c, g, d, res.z);
          if (!ref.ok || (res.z - ref.z).cwiseAbs().maxCoeff() > 1e-8) step_ok[size_t(s)] = false;
          if (ref.ok) warm_error = std::max(warm_error, (res.z - ref.z).cwiseAbs().maxCoeff());
          step_floor[size_t(s)] = per_call_median(
              [&] {
                u_floor = llt.solve(-g);
                benchmark::DoNotOptimize(u_floor.data());
              },
              3);
        }
        guess = res.row_state;
        x = sys.A * x + sys.B * res.z.head(sys.B.cols());
      }
    }
    for (int s = 1; s < steps; ++s) {
      if (!step_ok[size_t(s)]) {
        ++warm_failures;
        continue;
      }
      if (step_times[size_t(s)].empty()) continue;
      warm.push_back(median(step_times[size_t(s)]));
      floor_warm.push_back(step_floor[size_t(s)]);
    }
  }
  print({"warm", name, median(warm), median(floor_warm), int(warm.size()), warm_failures,
         warm_error});
  std::printf(
      "# %s: n %ld, rows %ld, feasible x0 %zu of %d (%zu with an active constraint), "
      "infeasible %d, Riccati iterations %d\n",
      name.c_str(), long(c.n()), long(c.problem.C.rows()), feasible.size(), points,
      cold_active.size(), infeasible, sys.riccati_iterations);
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0 ||
        std::strncmp(argv[i], "--benchmark_min_time", 20) == 0)
      quick = true;  // the ctest smoke run passes --benchmark_min_time
  }
  const System s2 = system_nx2(), s8 = system_nx8();
  for (int N : {10, 20, 50}) run_problem(s2, N, quick);
  for (int N : {10, 30}) run_problem(s8, N, quick);
  return 0;
}
