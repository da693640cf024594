#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"
#include "support/random_qp.hpp"

#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/sensitivity.hpp"

#include <Eigen/Dense>

#include <limits>
#include <random>

using Eigen::MatrixXd;
using Eigen::VectorXd;
using rmpc::qp::DenseSolver;
using rmpc::qp::Problem;
using rmpc::qp::RowState;
using rmpc::qp::Status;
using rmpc::testing::kkt_error;
using rmpc::testing::random_qp;

TEST_CASE("unconstrained QP matches a direct solve", "[qp]") {
  std::mt19937_64 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    auto pr = random_qp(rng, 6, 0, 0);
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    REQUIRE(res.status == Status::optimal);
    const VectorXd z = pr.H.ldlt().solve(-pr.g);
    CHECK((res.z - z).norm() <= 1e-12 * (1 + z.norm()));
  }
}

TEST_CASE("equality-constrained QP matches a direct KKT solve", "[qp]") {
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 20; ++trial) {
    auto pr = random_qp(rng, 7, 3, 0);
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    REQUIRE(res.status == Status::optimal);
    MatrixXd K = MatrixXd::Zero(10, 10);
    K << pr.H, pr.A.transpose(), pr.A, MatrixXd::Zero(3, 3);
    VectorXd rhs(10);
    rhs << -pr.g, pr.b;
    const VectorXd w = K.fullPivLu().solve(rhs);
    CHECK((res.z - w.head(7)).norm() <= 1e-11 * (1 + w.norm()));
    CHECK((res.y_eq - w.tail(3)).norm() <= 1e-10 * (1 + w.norm()));
  }
}

TEST_CASE("random QPs with many active constraints satisfy KKT to round-off", "[qp]") {
  std::mt19937_64 rng(3);
  int max_active = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Eigen::Index n = 2 + trial % 12,
                       p = trial % 3 == 0 ? std::min<Eigen::Index>(2, n - 1) : 0, m = 3 * n;
    auto pr = random_qp(rng, n, p, m);
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    REQUIRE(res.status == Status::optimal);
    CHECK(kkt_error(pr, res.z, res.y_eq, res.y_ineq) <= 1e-10);
    max_active = std::max<int>(max_active, int(res.num_active()));
  }
  CHECK(max_active >= 8);
}

TEST_CASE("exact L1 soft rows satisfy the L1 optimality conditions", "[qp][soft]") {
  std::mt19937_64 rng(4);
  int saturated = 0, soft_active = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Eigen::Index n = 2 + trial % 10, m = 4 * n;
    auto pr = random_qp(rng, n, trial % 4 == 0 ? 1 : 0, m);
    std::uniform_real_distribution<double> w(0.1, 3.0);
    for (Eigen::Index i = 0; i < m; ++i)
      if (i % 3 != 0) pr.soft_weight(i) = w(rng);
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    REQUIRE(res.status == Status::optimal);
    CHECK(kkt_error(pr, res.z, res.y_eq, res.y_ineq) <= 1e-10);
    for (Eigen::Index i = 0; i < m; ++i) {
      saturated += res.row_state(i) == RowState::saturated;
      soft_active += res.row_state(i) == RowState::active && pr.is_soft(i);
    }
  }
  CHECK(saturated > 50);
  CHECK(soft_active > 50);
}

TEST_CASE("soft rows equal the explicit-slack formulation", "[qp][soft]") {
  // min 1/2 z'Hz + g'z + w'eps  s.t. Cz - eps <= d, eps >= 0, with a tiny quadratic on eps
  // to keep the lifted Hessian definite; the L1 solution must agree to that perturbation.
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 30; ++trial) {
    const Eigen::Index n = 4, m = 8;
    auto pr = random_qp(rng, n, 0, m);
    pr.soft_weight.setConstant(1.5);
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    REQUIRE(res.status == Status::optimal);

    Problem<double> lifted(n + m, 0, 2 * m);
    const double rho = 1e-9;
    lifted.H.topLeftCorner(n, n) = pr.H;
    lifted.H.bottomRightCorner(m, m) = rho * MatrixXd::Identity(m, m);
    lifted.g << pr.g, pr.soft_weight;
    lifted.C.topLeftCorner(m, n) = pr.C;
    lifted.C.topRightCorner(m, m) = -MatrixXd::Identity(m, m);
    lifted.C.bottomRightCorner(m, m) = -MatrixXd::Identity(m, m);
    lifted.d << pr.d, VectorXd::Zero(m);
    DenseSolver<double> lifted_solver;
    const auto& ref = lifted_solver.compute(lifted).solve();
    REQUIRE(ref.status == Status::optimal);
    CHECK((res.z - ref.z.head(n)).norm() <= 1e-6);
    CHECK((res.y_ineq - ref.y_ineq.head(m)).norm() <= 1e-6);
  }
}

TEST_CASE("infeasible hard constraints are reported", "[qp]") {
  Problem<double> pr(2, 0, 2);
  pr.H.setIdentity();
  pr.C << 1, 0, -1, 0;  // z1 <= 0 and z1 >= 1
  pr.d << 0, -1;
  DenseSolver<double> solver;
  CHECK(solver.compute(pr).solve().status == Status::infeasible);
  // The same rows made soft are always feasible: the penalty balances them.
  pr.soft_weight << 10, 10;
  const auto& res = solver.compute(pr).solve();
  REQUIRE(res.status == Status::optimal);
  // On [0, 1] the objective is z1^2/2 + 10: the penalties trade off exactly, z1 = 0 wins.
  CHECK(res.z(0) == Approx(0.0).margin(1e-12));
  CHECK(res.objective == Approx(10.0).epsilon(1e-14));
  // Inconsistent equalities.
  Problem<double> eq(2, 2, 0);
  eq.H.setIdentity();
  eq.A << 1, 1, 2, 2;
  eq.b << 1, 3;
  CHECK(solver.compute(eq).solve().status == Status::infeasible);
  // Redundant but consistent equalities are fine.
  eq.b << 1, 2;
  const auto& red = solver.compute(eq).solve();
  REQUIRE(red.status == Status::optimal);
  CHECK(red.z.sum() == Approx(1.0).margin(1e-12));
}

TEST_CASE("degenerate (weakly active) constraints are solved exactly", "[qp]") {
  // The unconstrained minimiser z = (1, 1) lies exactly on z1 + z2 <= 2 and z1 <= 1.
  Problem<double> pr(2, 0, 3);
  pr.H.setIdentity();
  pr.g << -1, -1;
  pr.C << 1, 1, 1, 0, 1, 1;  // row 2 duplicates row 0
  pr.d << 2, 1, 2;
  DenseSolver<double> solver;
  const auto& res = solver.compute(pr).solve();
  REQUIRE(res.status == Status::optimal);
  CHECK((res.z - Eigen::Vector2d(1, 1)).norm() <= 1e-14);
  CHECK(kkt_error(pr, res.z, res.y_eq, res.y_ineq) <= 1e-12);
  // Duplicate active rows with a pulling gradient: LICQ fails, the solver still converges.
  pr.g << -3, -3;
  const auto& dup = solver.compute(pr).solve();
  REQUIRE(dup.status == Status::optimal);
  CHECK(kkt_error(pr, dup.z, dup.y_eq, dup.y_ineq) <= 1e-12);
}

TEST_CASE("warm starts: right, wrong and stale guesses give the cold solution", "[qp][warm]") {
  std::mt19937_64 rng(6);
  for (int trial = 0; trial < 100; ++trial) {
    const Eigen::Index n = 3 + trial % 8, m = 3 * n;
    auto pr = random_qp(rng, n, trial % 5 == 0 ? 1 : 0, m);
    for (Eigen::Index i = 0; i < m; i += 2) pr.soft_weight(i) = 2.0;
    DenseSolver<double> cold, warm;
    const auto cold_res = cold.compute(pr).solve();
    REQUIRE(cold_res.status == Status::optimal);
    warm.compute(pr);

    // Right guess: no active-set change is needed beyond the initial factorization.
    const auto& right = warm.solve(cold_res.row_state);
    REQUIRE(right.status == Status::optimal);
    CHECK((right.z - cold_res.z).norm() <= 1e-10 * (1 + cold_res.z.norm()));
    CHECK(right.row_state == cold_res.row_state);
    CHECK(right.iterations <= int(pr.A.rows()));

    // Wrong guess: random states.
    Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> guess(m);
    std::uniform_int_distribution<int> state(0, 2);
    for (Eigen::Index i = 0; i < m; ++i) guess(i) = std::int8_t(state(rng));
    const auto& wrong = warm.solve(guess);
    REQUIRE(wrong.status == Status::optimal);
    CHECK((wrong.z - cold_res.z).norm() <= 1e-9 * (1 + cold_res.z.norm()));
    CHECK(kkt_error(pr, wrong.z, wrong.y_eq, wrong.y_ineq) <= 1e-10);

    // Stale guess: the active set of a perturbed problem.
    auto moved = pr;
    moved.g += 0.3 * rmpc::testing::random_matrix(rng, n, 1);
    DenseSolver<double> other;
    const auto stale_states = other.compute(moved).solve().row_state;
    const auto& stale = warm.solve(stale_states);
    REQUIRE(stale.status == Status::optimal);
    CHECK((stale.z - cold_res.z).norm() <= 1e-9 * (1 + cold_res.z.norm()));
  }
}

TEST_CASE("update_linear_terms re-solves without refactoring", "[qp]") {
  std::mt19937_64 rng(7);
  auto pr = random_qp(rng, 5, 1, 10);
  DenseSolver<double> a, b;
  a.compute(pr).solve();
  pr.g = rmpc::testing::random_matrix(rng, 5, 1);
  pr.d.array() += 0.1;
  a.update_linear_terms(pr.g, pr.b, pr.d);
  const auto& ra = a.solve();
  const auto& rb = b.compute(pr).solve();
  REQUIRE(ra.status == Status::optimal);
  CHECK((ra.z - rb.z).norm() <= 1e-13);
}

TEST_CASE("invalid data and non-convexity are statuses, sizes throw; both name the argument",
          "[qp]") {
  Problem<double> pr(3, 1, 2);
  pr.H.setIdentity();
  DenseSolver<double> solver;
  pr.g(1) = std::numeric_limits<double>::quiet_NaN();
  CHECK(solver.compute(pr).info() == Status::invalid_input);
  CHECK(solver.result().message.find("g") == 0);
  CHECK(solver.solve().status == Status::invalid_input);
  pr.g.setZero();
  pr.d.resize(3);
  CHECK(rmpc::testing::thrown_message([&] {
          solver.compute(pr);
        }).find("DenseSolver::compute: d has 3 entries") == 0);
  pr.d.setZero(2);
  pr.H(0, 0) = -1;
  CHECK(solver.compute(pr).info() == Status::non_convex);
  pr.H(0, 0) = 0;  // positive semidefinite: convex, but not solvable by this method
  CHECK(solver.compute(pr).info() == Status::singular_hessian);
  pr.H(0, 0) = 1;
  pr.H(0, 1) = 0.5;
  CHECK(solver.compute(pr).info() == Status::invalid_input);
  CHECK(solver.result().message == "H is not symmetric");
  pr.H(0, 1) = 0;
  pr.soft_weight(0) = -1;
  CHECK(solver.compute(pr).info() == Status::invalid_input);
  pr.soft_weight(0) = 1;
  REQUIRE(solver.compute(pr).info() == Status::optimal);
  CHECK(solver.solve().status == Status::optimal);
  Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> bad_guess(5);
  CHECK(rmpc::testing::thrown_message([&] {
          solver.solve(bad_guess);
        }).find("DenseSolver::solve: warm_start has 5 entries") == 0);
  CHECK(solver.solve().status == Status::optimal);  // a throw leaves the solver as it was
}

TEST_CASE("the iteration limit is a status, never a hang", "[qp]") {
  std::mt19937_64 rng(8);
  auto pr = random_qp(rng, 8, 0, 30);
  rmpc::qp::Settings<double> settings;
  settings.max_iterations = 2;
  DenseSolver<double> solver(settings);
  const auto& res = solver.compute(pr).solve();
  DenseSolver<double> full;
  if (full.compute(pr).solve().iterations > 2) CHECK(res.status == Status::max_iterations);
}

TEST_CASE("float instantiation", "[qp]") {
  Problem<float> pr(2, 0, 1);
  pr.H.setIdentity();
  pr.g << -2, -2;
  pr.C << 1, 1;
  pr.d << 1;
  DenseSolver<float> solver;
  const auto& res = solver.compute(pr).solve();
  REQUIRE(res.status == Status::optimal);
  CHECK(res.z(0) == Approx(0.5f).margin(1e-6));
  CHECK(res.y_ineq(0) == Approx(1.5f).margin(1e-5));
}

TEST_CASE("qp settings: defaults validate, compute() and Sensitivity::compute() name a bad field",
          "[qp][settings]") {
  using rmpc::testing::thrown_message;
  CHECK_NOTHROW(rmpc::qp::Settings<double>{}.validate());
  CHECK_NOTHROW(rmpc::qp::SensitivitySettings<float>{}.validate());
  // Default tolerances never sit below a float's round-off; double keeps its values.
  const float eps_f = std::numeric_limits<float>::epsilon();
  CHECK(rmpc::qp::SensitivitySettings<float>{}.weak_tolerance >= 64 * eps_f);
  CHECK(rmpc::qp::SensitivitySettings<float>{}.singular_tolerance >= 16 * eps_f);
  CHECK(rmpc::qp::SensitivitySettings<double>{}.weak_tolerance == 1e-9);
  CHECK(rmpc::qp::SensitivitySettings<double>{}.singular_tolerance == 1e-11);
  Problem<double> qp(1, 0, 1);
  qp.H << 1.0;
  qp.g << -1.0;
  qp.C << 1.0;
  qp.d << 0.5;
  DenseSolver<double> solver;
  solver.settings().certificate_tolerance = 0;
  CHECK(thrown_message([&] { solver.compute(qp); }) ==
        "qp::Settings::certificate_tolerance must be in (0, 1) (got 0)");
  solver.settings() = {};
  REQUIRE(solver.compute(qp).solve().status == Status::optimal);
  rmpc::qp::ProblemDerivatives<double> dx;
  dx.num_parameters = 1;
  dx.dd = {VectorXd::Ones(1)};
  rmpc::qp::SensitivitySettings<double> ss;
  ss.residual_tolerance = 2;
  rmpc::qp::Sensitivity<double> sens;
  CHECK(thrown_message([&] {
          sens.compute(solver, dx, ss);
        }).find("SensitivitySettings::residual_tolerance") == 0);
  CHECK(sens.compute(solver, dx).info() == rmpc::qp::SensitivityStatus::ok);
  CHECK(sens.dz_dtheta()(0, 0) == Approx(1.0));
}

// Fixed sizes with a single row (M = 1): the row structure's storage must be a valid Eigen
// type (a column-major matrix of at most one row and N > 1 columns is not; found by review).
TEST_CASE("fixed sizes with a single inequality row compile and solve", "[qp]") {
  Problem<double, 3, 0, 1> pr;
  pr.H.setIdentity();
  pr.g << 1.0, 2.0, 3.0;
  pr.C << 1.0, 1.0, 1.0;
  pr.d << -7.0;  // the unconstrained minimiser has sum -6: the row is active
  pr.soft_weight.setConstant(std::numeric_limits<double>::infinity());
  DenseSolver<double, 3, 0, 1> solver;
  solver.compute(pr);
  const auto& r = solver.solve();
  REQUIRE(r.status == rmpc::qp::Status::optimal);
  // z = -g - lambda C', C z = -6 - 3 lambda = -7: lambda = 1/3.
  const Eigen::Vector3d z_expected(-4.0 / 3.0, -7.0 / 3.0, -10.0 / 3.0);
  CHECK((r.z - z_expected).cwiseAbs().maxCoeff() <= 1e-15);
  CHECK(std::abs(r.y_ineq(0) - 1.0 / 3.0) <= 1e-15);
  CHECK(r.row_state(0) == rmpc::qp::RowState::active);
}
