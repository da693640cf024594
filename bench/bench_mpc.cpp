// One evaluation of the paper's MPC policy (nx = 2, nu = 1, N = 10, np = 8, fixed sizes):
// the QP solve alone vs the solve with du0/dtheta, d2u0/dtheta2 and du0/ds, cold and
// warm-started, plus the once-per-theta setup. The ratio "policy with derivatives / solve
// alone" is read from one run (same machine state). States cycle along a closed loop so that
// warm starts see the realistic "previous state" guess.
#include "../examples/linear_2d/paper_model.hpp"
#include "paper_states.hpp"

#include <benchmark/benchmark.h>

#include <vector>

namespace {

using rmpc_bench::closed_loop_states;

void run(benchmark::State& state, bool derivatives, bool warm) {
  rmpc_bench::run_policy<linear_2d::PaperMpc>(state, linear_2d::PaperModel{}, derivatives, warm);
}

void BM_SolveOnlyCold(benchmark::State& state) { run(state, false, false); }
void BM_SolveOnlyWarm(benchmark::State& state) { run(state, false, true); }
void BM_PolicyWithDerivativesCold(benchmark::State& state) { run(state, true, false); }
void BM_PolicyWithDerivativesWarm(benchmark::State& state) { run(state, true, true); }

void BM_FirstOrderOnlyWarm(benchmark::State& state) {
  const auto states = closed_loop_states();
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  mpc.set_parameters(linear_2d::theta0());
  rmpc::mpc::PolicyRequest request;
  request.d2u0_dtheta2 = false;
  request.du0_ds = false;
  linear_2d::PaperMpc::Result r;  // caller-owned result: the allocation-free overload
  size_t i = 0;
  for (auto _ : state) {
    mpc.evaluate(states[i], request, r);
    benchmark::DoNotOptimize(r.du0_dtheta.data());
    i = (i + 1) % states.size();
  }
}

/// Once per theta: nested-AutoDiff condensing (first and second theta-derivatives) + factorization.
void BM_SetParameters(benchmark::State& state) {
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  auto theta = linear_2d::theta0();
  for (auto _ : state) {
    theta(7) += 1e-9;
    benchmark::DoNotOptimize(mpc.set_parameters(theta));
  }
}

}  // namespace

BENCHMARK(BM_SolveOnlyCold)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SolveOnlyWarm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_FirstOrderOnlyWarm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PolicyWithDerivativesCold)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PolicyWithDerivativesWarm)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SetParameters)->Unit(benchmark::kMicrosecond);
