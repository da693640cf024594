// Shared by the MPC benchmarks: states along three closed loops of the paper's untrained MPC
// on the true system (the realistic sequence a warm start sees: each state's guess is the
// previous state's solution) and the timed policy-evaluation loop over them.
#pragma once

#include "../examples/linear_2d/paper_model.hpp"

#include <benchmark/benchmark.h>

#include <vector>

namespace rmpc_bench {

inline std::vector<Eigen::Vector2d> closed_loop_states() {
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  mpc.set_parameters(linear_2d::theta0());
  rmpc::mpc::PolicyRequest values_only{false, false, false, false, true};
  std::vector<Eigen::Vector2d> states;
  for (const Eigen::Vector2d& s0 :
       {Eigen::Vector2d(0.5, 0.5), Eigen::Vector2d(0.1, -0.5), Eigen::Vector2d(0.9, -0.6)}) {
    Eigen::Vector2d s = s0;
    for (int k = 0; k < 20; ++k) {
      states.push_back(s);
      s = linear_2d::true_step(s, mpc.evaluate(s, values_only).u0(0));
    }
  }
  return states;
}

/// Times one policy evaluation per iteration along closed_loop_states(), with or without the
/// derivatives (du0/dtheta, d2u0/dtheta2, du0/ds), warm-started or cold, at theta0.
template <class Mpc, class Model>
void run_policy(benchmark::State& state, const Model& model, bool derivatives, bool warm) {
  const auto states = closed_loop_states();
  Mpc mpc(model);
  mpc.set_parameters(linear_2d::theta0());
  rmpc::mpc::PolicyRequest request;
  request.du0_dtheta = request.d2u0_dtheta2 = request.du0_ds = derivatives;
  request.warm_start = warm;
  typename Mpc::Result r;  // caller-owned result: the allocation-free overload
  size_t i = 0;
  for (auto _ : state) {
    mpc.evaluate(states[i], request, r);
    benchmark::DoNotOptimize(r.u0.data());
    benchmark::DoNotOptimize(r.d2u0_dtheta2.data());
    i = (i + 1) % states.size();
  }
}

}  // namespace rmpc_bench
