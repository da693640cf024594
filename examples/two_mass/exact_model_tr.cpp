// What the trust region does with an exact model on the two-mass chain (README, "Second
// system: two masses"): examples/common/exact_model_tr.hpp's TR-QN with g and H of J by central
// differences, on the deterministic closed-loop cost of the learned MPC over the 50 training
// states (PolicyOptimizer::evaluate, on every core: its sum does not depend on the thread
// count). Not part of the default build: cmake --build BUILD --target two_mass_exact_model.
//
//   two_mass_exact_model [--iterations K] [--model-scale S] [--expand-factor F] [--step H]
#include "common/exact_model_tr.hpp"
#include "state_sets.hpp"
#include "two_mass_loop.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <thread>

int main(int argc, char** argv) {
  using namespace two_mass;
  try {
    const States train = read_states(training_states_file);
    rmpc::rl::LoopSettings<double> settings;
    settings.threads = int(std::max(1u, std::thread::hardware_concurrency()));
    Loop loop(TrueSystem{}, make_mpc, train, settings);
    return examples_common::run_exact_model_tr<np>(
        "two_mass_exact_model", argc, argv, theta0(), [&](const Theta& t) {
          const double cost = loop.evaluate(t, train);
          return std::isfinite(cost) ? cost : HUGE_VAL;  // a failed closed loop: +inf
        });
  } catch (const std::exception& e) {
    std::fprintf(stderr, "two_mass_exact_model: %s\n", e.what());
    return 1;
  }
}
