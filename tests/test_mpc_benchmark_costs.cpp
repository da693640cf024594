// Closed-loop costs of method.md §1: the benchmark MPC (true model, N = 50, P_true) and the
// untrained parameterized MPC (theta0, N = 10) over the 50 training initial states, per state
// against data/ecc24_train_ic_costs_benchmark_untrained.csv and in the mean (11.901, 26.350).
#include "rmpc/rl/environment.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define RMPC_LINEAR_2D_DATA_DIR RMPC_TEST_DATA_DIR "/../../examples/linear_2d/data"

namespace {

std::vector<std::vector<double>> read_csv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream ss(line);
    std::string cell;
    std::vector<double> row;
    while (std::getline(ss, cell, ',')) row.push_back(std::stod(cell));
    rows.push_back(row);
  }
  return rows;
}

template <class Mpc>
double closed_loop_cost(Mpc& mpc, const Eigen::Vector2d& s0) {
  rmpc::mpc::PolicyRequest values_only;
  values_only.du0_dtheta = false;
  values_only.d2u0_dtheta2 = false;
  values_only.du0_ds = false;
  auto policy = [&](const Eigen::Vector2d& s, const Eigen::Matrix<double, 1, 1>&, int,
                    Eigen::Matrix<double, 1, 1>& u) {
    const auto& r = mpc.evaluate(s, values_only);
    u = r.u0;
    return r.qp_status == rmpc::qp::Status::optimal;
  };
  rmpc::rl::Episode<double, 2, 1> episode;
  rmpc::rl::run_episode<double, 2, 1>(linear_2d::TrueSystem{}, s0, 50, policy, episode);
  REQUIRE(episode.ok());
  return episode.total_cost;
}

}  // namespace

// [long]: 100 closed loops of 50 steps (about 50 s in the sanitizer build); the case from
// (0.5, 0.5) below runs the same code there.
TEST_CASE("Benchmark and untrained MPC closed-loop costs match method.md",
          "[lq_mpc][benchmark][long]") {
  const auto states = read_csv(RMPC_LINEAR_2D_DATA_DIR "/ecc24_train_initial_states.csv");
  const auto reference =
      read_csv(RMPC_LINEAR_2D_DATA_DIR "/ecc24_train_ic_costs_benchmark_untrained.csv");
  REQUIRE(states.size() == 50);
  REQUIRE(reference.size() == 50);

  auto benchmark = linear_2d::make_benchmark_mpc();
  REQUIRE(benchmark.setup_status() == rmpc::qp::Status::optimal);
  linear_2d::PaperMpc untrained(linear_2d::PaperModel{});
  REQUIRE(untrained.set_parameters(linear_2d::theta0()) == rmpc::qp::Status::optimal);

  double mean_benchmark = 0.0, mean_untrained = 0.0;
  for (size_t i = 0; i < states.size(); ++i) {
    const Eigen::Vector2d s0(states[i][0], states[i][1]);
    // The reference file rounds the initial states to 6 decimals.
    CHECK(std::abs(s0(0) - reference[i][0]) < 1e-6);
    const double jb = closed_loop_cost(benchmark, s0);
    const double ju = closed_loop_cost(untrained, s0);
    INFO("state " << i << " (" << s0.transpose() << ")");
    // The benchmark reference (6 decimals) is reproduced to round-off. The untrained
    // reference runs 3e-4..7e-4 BELOW ours at every state (relative <= 6e-4); our QP
    // solutions along those loops were checked optimal by random feasible perturbations of
    // the MPC objective, so the tolerance is the reference's accuracy, not ours.
    CHECK(jb == Approx(reference[i][2]).margin(2e-6).epsilon(1e-6));
    CHECK(ju == Approx(reference[i][3]).margin(1e-3).epsilon(0));
    mean_benchmark += jb / double(states.size());
    mean_untrained += ju / double(states.size());
  }
  INFO("mean benchmark " << mean_benchmark << ", mean untrained " << mean_untrained);
  CHECK(std::abs(mean_benchmark - 11.901) < 5e-4);  // 4 significant digits
  CHECK(std::abs(mean_untrained - 26.350) < 5e-4);
}

TEST_CASE("From s0 = (0.5, 0.5): benchmark 3.4395, untrained 8.306", "[lq_mpc][benchmark]") {
  auto benchmark = linear_2d::make_benchmark_mpc();
  linear_2d::PaperMpc untrained(linear_2d::PaperModel{});
  untrained.set_parameters(linear_2d::theta0());
  CHECK(std::abs(closed_loop_cost(benchmark, Eigen::Vector2d(0.5, 0.5)) - 3.4395) < 5e-5);
  CHECK(std::abs(closed_loop_cost(untrained, Eigen::Vector2d(0.5, 0.5)) - 8.306383) <
        1e-3);  // see above
}

TEST_CASE("Benchmark MPC stays optimal along a warm-started loop with a near-tie step",
          "[lq_mpc][benchmark][regression]") {
  // Test state 1370: at step 8 a partial step met the entering row to within round-off, the
  // next full step came out negative and the solver indexed working-set member -1.
  auto mpc = linear_2d::make_benchmark_mpc();
  rmpc::mpc::PolicyRequest req;
  req.du0_dtheta = req.d2u0_dtheta2 = req.du0_ds = false;
  Eigen::Vector2d s(0.84728897060565456, 0.60441389344998564);
  for (int k = 0; k < 50; ++k) {
    req.warm_start = k > 0;
    const auto& r = mpc.evaluate(s, req);
    REQUIRE(r.qp_status == rmpc::qp::Status::optimal);
    s = linear_2d::true_step(s, r.u0(0));
  }
}
