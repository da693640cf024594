// Field reports against the dense QP solver (issue #15): every reported input is a test case
// with its right answer or an honest status, plus randomized row-scaling and parallel-row
// checks. Answers are checked against the data's own scale (no absolute floors), since the
// faults were exactly answers that passed an absolute test.
#include "rmpc_catch.hpp"
#include "support/anchor_qps.hpp"
#include "support/random_qp.hpp"

#include "rmpc/qp/dense_solver.hpp"

#include <Eigen/Dense>

#include <cmath>
#include <cstddef>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

using Eigen::MatrixXd;
using Eigen::VectorXd;
using rmpc::qp::DenseSolver;
using rmpc::qp::Problem;
using rmpc::qp::RowState;
using rmpc::qp::Settings;
using rmpc::qp::SolverState;
using rmpc::qp::Status;
using rmpc::testing::kkt_error;
using rmpc::testing::random_matrix;
using rmpc::testing::random_qp;
using rmpc::testing::random_spd;

namespace {

using RowStates = Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1>;

// Largest violation of a hard row, relative to that row's scale |C_i||z| + |d_i|.
double relative_row_violation(const Problem<double>& pr, const VectorXd& z) {
  double worst = 0;
  for (Eigen::Index i = 0; i < pr.C.rows(); ++i) {
    if (pr.is_soft(i)) continue;
    const double v = pr.C.row(i).dot(z) - pr.d(i);
    const double scale = pr.C.row(i).cwiseAbs().dot(z.cwiseAbs()) + std::abs(pr.d(i));
    if (v > 0) worst = std::max(worst, v / scale);
  }
  return worst;
}

// |Hz + g + A'y + C'y|_inf relative to the largest magnitude of the terms summed
// (normwise backward error of stationarity).
double relative_stationarity(const Problem<double>& pr, const VectorXd& z, const VectorXd& y_eq,
                             const VectorXd& y_ineq) {
  VectorXd r = pr.H * z + pr.g;
  VectorXd s = pr.H.cwiseAbs() * z.cwiseAbs() + pr.g.cwiseAbs();
  if (pr.A.rows() > 0) {
    r += pr.A.transpose() * y_eq;
    s += pr.A.cwiseAbs().transpose() * y_eq.cwiseAbs();
  }
  if (pr.C.rows() > 0) {
    r += pr.C.transpose() * y_ineq;
    s += pr.C.cwiseAbs().transpose() * y_ineq.cwiseAbs();
  }
  const double num = r.cwiseAbs().maxCoeff();
  return num == 0 ? 0.0 : num / s.maxCoeff();
}

Problem<double> one_variable(double h, double g, std::vector<double> c, std::vector<double> d) {
  Problem<double> pr(1, 0, Eigen::Index(c.size()));
  pr.H(0, 0) = h;
  pr.g(0) = g;
  for (size_t i = 0; i < c.size(); ++i)
    pr.C(Eigen::Index(i), 0) = c[i], pr.d(Eigen::Index(i)) = d[i];
  return pr;
}

}  // namespace

// ---- Fault 1: optimal with a hard row violated (tiny gaps, tiny H, huge g) ------------------

TEST_CASE("field 1: tiny infeasible gap with tiny H and huge g is infeasible", "[qp][field]") {
  for (const bool refine : {true, false}) {
    Settings<double> settings;
    settings.refine = refine;
    DenseSolver<double> solver(settings);
    // x <= 0 and -x <= -1e-10 with H = 1e-8, g = 1.
    const auto a = one_variable(1e-8, 1.0, {1.0, -1.0}, {0.0, -1e-10});
    CHECK(solver.compute(a).solve().status == Status::infeasible);
    // H = 1e-12, gap 1e-5.
    const auto b = one_variable(1e-12, 1.0, {1.0, -1.0}, {0.0, -1e-5});
    CHECK(solver.compute(b).solve().status == Status::infeasible);
  }
}

TEST_CASE("field 1: a row crossed by the final refinement re-enters (feasible, tiny H)",
          "[qp][field]") {
  Problem<double> pr(2, 0, 2);
  pr.H = 1e-12 * MatrixXd::Identity(2, 2);
  pr.g << 1, 0;
  pr.C << -1, 0, 1, 1;  // x1 >= 1e-5, x1 + x2 <= 5e-6
  pr.d << -1e-5, 5e-6;
  for (const bool refine : {true, false}) {
    Settings<double> settings;
    settings.refine = refine;
    DenseSolver<double> solver(settings);
    const auto& res = solver.compute(pr).solve();
    // Without refinement the answer may be uncertified, but never a wrong `optimal`.
    if (!refine && res.status == Status::inaccurate) continue;
    REQUIRE(res.status == Status::optimal);
    CHECK(std::abs(res.z(0) - 1e-5) <= 1e-12 * 1e-5);
    CHECK(std::abs(res.z(1) + 5e-6) <= 1e-12 * 5e-6);
    CHECK(relative_row_violation(pr, res.z) <= 1e-13);
    CHECK(relative_stationarity(pr, res.z, res.y_eq, res.y_ineq) <= 1e-12);
  }
}

// ---- Fault 2: answers must not depend on row scaling ----------------------------------------

TEST_CASE("field 2: a scaled inequality row gives the same answer for every scale", "[qp][field]") {
  // min (z - 1)^2 s.t. s z <= s (1 - 1e-7): z = 1 - 1e-7, y = 2e-7 / s.
  for (const double s : {1e-14, 1e-10, 1e-8, 1e-7, 1e-3, 1.0, 1e4, 1e10}) {
    const auto pr = one_variable(2.0, -2.0, {s}, {s * (1 - 1e-7)});
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    INFO("s = " << s);
    REQUIRE(res.status == Status::optimal);
    CHECK(std::abs(res.z(0) - (1 - 1e-7)) <= 1e-15);
    CHECK(res.row_state(0) == RowState::active);
    CHECK(std::abs(res.y_ineq(0) * s - 2e-7) <= 1e-15);
  }
}

TEST_CASE("field 2: scaled inconsistent equalities are infeasible for every scale", "[qp][field]") {
  for (const double s : {1e-12, 1e-8, 1e-4, 1.0, 1e8}) {
    Problem<double> pr(1, 2, 0);
    pr.H(0, 0) = 1;
    pr.A << s, s;
    pr.b << s, s * (1 + 1e-6);
    DenseSolver<double> solver;
    INFO("s = " << s);
    CHECK(solver.compute(pr).solve().status == Status::infeasible);
    // Consistent copies stay fine at every scale.
    pr.b << s, s;
    const auto& ok = solver.compute(pr).solve();
    REQUIRE(ok.status == Status::optimal);
    CHECK(std::abs(ok.z(0) - 1) <= 1e-15);
  }
}

// ---- Fault 3: a rejected call never leaves a solver that solves the wrong problem -----------

TEST_CASE("field 3: a fresh solver refuses to solve and to update (call order: thrown)",
          "[qp][field][state]") {
  DenseSolver<double> solver;
  CHECK(solver.state() == SolverState::empty);
  CHECK_THROWS_AS(solver.solve(), std::logic_error);
  const VectorXd g = VectorXd::Ones(2), b(0), d(0);
  CHECK_THROWS_AS(solver.update_linear_terms(g, b, d), std::logic_error);
  CHECK(solver.state() == SolverState::empty);
  try {
    solver.solve();
  } catch (const std::logic_error& e) {
    CHECK(std::string(e.what()) == "DenseSolver::solve() called before compute()");
  }
}

TEST_CASE("field 3: a rejected compute disarms the solver until a good compute",
          "[qp][field][state]") {
  Problem<double> good(2, 0, 1);
  good.H.setIdentity();
  good.g << -2, -2;
  good.C << 1, 1;
  good.d << 1;
  const VectorXd g_new = VectorXd::Constant(2, -3.0), b(0), d = VectorXd::Constant(1, 1.0);

  struct Bad {
    const char* what;
    Problem<double> pr;
    Status status;
  };
  std::vector<Bad> bad;
  {
    auto p = good;
    p.H(0, 0) = std::numeric_limits<double>::quiet_NaN();
    bad.push_back({"NaN H", p, Status::invalid_input});
  }
  {
    auto p = good;
    p.H(0, 1) = 0.5;
    bad.push_back({"asymmetric H", p, Status::invalid_input});
  }
  {
    auto p = good;
    p.H(1, 1) = -1;
    bad.push_back({"non-convex H", p, Status::non_convex});
  }
  {
    auto p = good;
    p.soft_weight(0) = -1;
    bad.push_back({"negative soft weight", p, Status::invalid_input});
  }
  {
    Problem<double> p(3, 0, 1);
    p.H.setIdentity();
    p.H(2, 2) = -5;  // a different size and rejected
    bad.push_back({"different size", p, Status::non_convex});
  }
  for (const auto& c : bad) {
    INFO(c.what);
    DenseSolver<double> solver;
    REQUIRE(solver.compute(good).solve().status == Status::optimal);
    CHECK(solver.compute(c.pr).info() == c.status);
    const std::string compute_message = solver.result().message;
    CHECK_FALSE(compute_message.empty());
    CHECK(solver.state() == SolverState::failed);
    // Neither the previous factor nor the new data may be solved.
    solver.update_linear_terms(g_new, b, d);
    CHECK(solver.info() == c.status);
    CHECK(solver.state() == SolverState::failed);
    const auto& res = solver.solve();
    CHECK(res.status == c.status);
    CHECK(res.message.find(compute_message) != std::string::npos);
    CHECK(solver.solve(RowStates::Zero(1)).status == c.status);
    // A size-matching update for the rejected problem does not re-arm it either.
    solver.update_linear_terms(VectorXd::Zero(c.pr.H.rows()), b, VectorXd::Zero(1));
    CHECK(solver.solve().status == c.status);
    // A good compute re-arms it.
    REQUIRE(solver.compute(good).info() == Status::optimal);
    CHECK(solver.state() == SolverState::ready);
    const auto& again = solver.solve();
    REQUIRE(again.status == Status::optimal);
    CHECK(again.message.empty());
    CHECK((again.z - Eigen::Vector2d(0.5, 0.5)).norm() <= 1e-15);
  }
  // A fresh solver whose first compute fails: no Eigen assertion, no solve.
  DenseSolver<double> fresh;
  CHECK(fresh.compute(bad[2].pr).info() == Status::non_convex);
  fresh.update_linear_terms(g_new, b, d);
  CHECK(fresh.solve().status == Status::non_convex);
}

TEST_CASE("field 3: rejected solve and update calls keep the previous state usable",
          "[qp][field][state]") {
  Problem<double> pr(2, 0, 1);
  pr.H.setIdentity();
  pr.g << -2, -2;
  pr.C << 1, 1;
  pr.d << 1;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(pr).solve().status == Status::optimal);
  const VectorXd z0 = solver.result().z;

  // Wrong warm-start length: thrown with its own message; the next solve is clean.
  CHECK_THROWS_AS(solver.solve(RowStates::Zero(3)), std::invalid_argument);
  CHECK(solver.state() == SolverState::ready);
  const auto& clean = solver.solve();
  REQUIRE(clean.status == Status::optimal);
  CHECK(clean.message.empty());
  CHECK((clean.z - z0).norm() == 0.0);

  // NaN and wrong-size updates are rejected and change nothing.
  VectorXd g_nan = pr.g;
  g_nan(0) = std::numeric_limits<double>::quiet_NaN();
  solver.update_linear_terms(g_nan, VectorXd(0), pr.d);
  CHECK(solver.info() == Status::invalid_input);
  CHECK(solver.result().message == "g has NaN/Inf entries");
  CHECK_THROWS_AS(solver.update_linear_terms(VectorXd::Zero(3), VectorXd(0), pr.d),
                  std::invalid_argument);
  CHECK(solver.problem().g.allFinite());
  const auto& after = solver.solve();
  REQUIRE(after.status == Status::optimal);
  CHECK(after.message.empty());
  CHECK((after.z - z0).norm() == 0.0);

  // A good update is used.
  solver.update_linear_terms(Eigen::Vector2d(2, 2), VectorXd(0), pr.d);
  CHECK(solver.info() == Status::optimal);
  const auto& moved = solver.solve();
  REQUIRE(moved.status == Status::optimal);
  CHECK((moved.z - Eigen::Vector2d(-2, -2)).norm() <= 1e-15);
}

// ---- Fault 4: warm start must test equality consistency ------------------------------------

TEST_CASE("field 4: a warm start after b changed finds the inconsistent redundant equality",
          "[qp][field][warm]") {
  Problem<double> pr(2, 2, 1);
  pr.H.setIdentity();
  pr.g << -1, 2;
  pr.A << 1, 1, 1, 1;  // A = [a; a]
  pr.b << 1, 1;
  pr.C << 1, 0;
  pr.d << 0.25;
  DenseSolver<double> solver;
  const auto& first = solver.compute(pr).solve();
  REQUIRE(first.status == Status::optimal);
  CHECK(solver.has_redundant_equalities());
  const RowStates states = first.row_state;
  const VectorXd b2 = Eigen::Vector2d(1, 2);
  solver.update_linear_terms(pr.g, b2, pr.d);
  CHECK(solver.solve(states).status == Status::infeasible);
  CHECK(solver.solve().status == Status::infeasible);
  // Back to consistent data: warm and cold agree again.
  solver.update_linear_terms(pr.g, Eigen::Vector2d(0.5, 0.5), pr.d);
  const auto& warm = solver.solve(states);
  REQUIRE(warm.status == Status::optimal);
  CHECK(std::abs(warm.z.sum() - 0.5) <= 1e-15);
}

// ---- Fault 7: convex problems are never called non-convex ------------------------------------

TEST_CASE("field 7: semidefinite H is singular_hessian, indefinite H is non_convex",
          "[qp][field]") {
  Problem<double> pr(3, 0, 1);
  pr.C << 1, 1, 1;
  pr.d << 1;
  DenseSolver<double> solver;
  pr.H.setZero();  // an LP
  CHECK(solver.compute(pr).info() == Status::singular_hessian);
  CHECK_FALSE(solver.result().message.empty());
  pr.H = Eigen::Vector3d(1, 1, 0).asDiagonal();
  CHECK(solver.compute(pr).info() == Status::singular_hessian);
  const MatrixXd v = Eigen::Vector3d(1, 2, 3);
  pr.H = v * v.transpose();  // rank one, entries not on a diagonal
  CHECK(solver.compute(pr).info() == Status::singular_hessian);
  CHECK(solver.solve().status == Status::singular_hessian);
  pr.H = Eigen::Vector3d(1, 1, -1e-3).asDiagonal();
  CHECK(solver.compute(pr).info() == Status::non_convex);
  CHECK(solver.result().message.find("eigenvalue") != std::string::npos);
  pr.H = Eigen::Vector3d(1e6, 1, -1e-6).asDiagonal();
  CHECK(solver.compute(pr).info() == Status::non_convex);
}

TEST_CASE("field 7: huge H entries are factorized, never called non_convex", "[qp][field]") {
  std::mt19937_64 rng(71);
  for (const double scale : {1e77, 1e150, 1e200, 1e-150}) {
    INFO("scale " << scale);
    Problem<double> base(4, 0, 3);
    base.H = random_spd(rng, 4);
    base.g = random_matrix(rng, 4, 1);
    base.C = random_matrix(rng, 3, 4);
    base.d = Eigen::Vector3d(0.1, 0.2, -0.1);
    DenseSolver<double> ref_solver;
    const auto ref = ref_solver.compute(base).solve();
    REQUIRE(ref.status == Status::optimal);
    auto big = base;
    big.H *= scale;
    big.g *= scale;
    DenseSolver<double> solver;
    REQUIRE(solver.compute(big).info() == Status::optimal);
    const auto& res = solver.solve();
    REQUIRE(res.status == Status::optimal);
    CHECK((res.z - ref.z).norm() <= 1e-13 * (1 + ref.z.norm()));
    // Semidefinite at the same scale: still not non_convex.
    auto psd = big;
    psd.H.row(0).setZero();
    psd.H.col(0).setZero();
    CHECK(solver.compute(psd).info() == Status::singular_hessian);
  }
}

// ---- Fault 11: degenerate vertices and equalities written as two inequalities -----------------

TEST_CASE("field 11: a feasible set that is one vertex with 24 active rows is solved",
          "[qp][field]") {
  std::mt19937_64 rng(11);
  int instances = 0;
  for (const double h : {1e-2, 1e-6}) {
    for (int trial = 0; trial < 40; ++trial) {
      const Eigen::Index n = 6, m = 24;
      Problem<double> pr(n, 0, m);
      pr.H = h * MatrixXd::Identity(n, n);
      pr.g = random_matrix(rng, n, 1);
      // Rows 0..5 and -(their sum) positively span R^6: {z : C z <= C z0} = {z0}.
      pr.C = random_matrix(rng, m, n);
      pr.C.row(6) = -pr.C.topRows(6).colwise().sum();
      const VectorXd z0 = random_matrix(rng, n, 1);
      pr.d = pr.C * z0;  // every row active at z0, d exact only to rounding
      DenseSolver<double> solver;
      const auto& res = solver.compute(pr).solve();
      INFO("h = " << h << ", trial " << trial);
      REQUIRE(res.status == Status::optimal);
      CHECK((res.z - z0).norm() <= 1e-10 * (1 + z0.norm()));
      CHECK(relative_row_violation(pr, res.z) <= 1e-11);
      CHECK(relative_stationarity(pr, res.z, res.y_eq, res.y_ineq) <= 1e-11);
      ++instances;
    }
  }
  CHECK(instances == 80);
}

TEST_CASE("field 11: an equality written as two inequalities equals the equality", "[qp][field]") {
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 40; ++trial) {
    const Eigen::Index n = 2 + trial % 5;
    auto eq = random_qp(rng, n, 1, n);
    eq.H *= trial % 2 == 0 ? 1e-2 : 1e-6;
    DenseSolver<double> ref_solver;
    const auto ref = ref_solver.compute(eq).solve();
    REQUIRE(ref.status == Status::optimal);
    Problem<double> pr(n, 0, n + 2);
    pr.H = eq.H;
    pr.g = eq.g;
    pr.C << eq.C, eq.A, -eq.A;
    pr.d << eq.d, eq.b, -eq.b;
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    INFO("trial " << trial);
    REQUIRE(res.status == Status::optimal);
    CHECK((res.z - ref.z).norm() <= 1e-9 * (1 + ref.z.norm()));
    CHECK(std::abs(res.y_ineq(n) - res.y_ineq(n + 1) - ref.y_eq(0)) <=
          1e-8 * (1 + std::abs(ref.y_eq(0))));
  }
}

// ---- Fault 12: cycling on parallel copies of one row -----------------------------------------

TEST_CASE("field 12: three scaled copies of x + y <= 2 with H = 1e-6 I are one projection",
          "[qp][field]") {
  Problem<double> pr(2, 0, 3);
  pr.H = 1e-6 * MatrixXd::Identity(2, 2);
  pr.g = -1e-6 * Eigen::Vector2d(3, 5);  // unconstrained minimiser (3, 5)
  const Eigen::Vector3d s(1, 1e-6, 10);
  for (int i = 0; i < 3; ++i) pr.C.row(i) = s(i) * Eigen::RowVector2d(1, 1), pr.d(i) = 2 * s(i);
  DenseSolver<double> solver;
  const auto& res = solver.compute(pr).solve();
  REQUIRE(res.status == Status::optimal);
  CHECK((res.z - Eigen::Vector2d(0, 2)).norm() <= 1e-12);
  // The multipliers of the copies sum to the single row's: (C'y) = 3e-6 (1, 1).
  const Eigen::Vector2d cy = pr.C.transpose() * res.y_ineq;
  CHECK((cy - 3e-6 * Eigen::Vector2d(1, 1)).norm() <= 1e-17);
  CHECK(res.iterations <= 3);
}

TEST_CASE("field 12: random parallel copies terminate optimal at the projection", "[qp][field]") {
  std::mt19937_64 rng(120);
  std::uniform_real_distribution<double> u(0, 1);
  int optimal = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Eigen::Index n = 2 + trial % 4, copies = 2 + trial % 19;
    Problem<double> pr(n, 0, copies);
    const double h = std::pow(10.0, -6 + 6 * u(rng));
    pr.H = h * MatrixXd::Identity(n, n);
    const VectorXd target = 3 * random_matrix(rng, n, 1);
    pr.g = -h * target;
    VectorXd a = random_matrix(rng, n, 1);
    const double beta =
        a.dot(target) - 1 - u(rng);  // the unconstrained minimiser violates a'z <= beta
    for (Eigen::Index i = 0; i < copies; ++i) {
      const double s = std::pow(10.0, -6 + 7 * u(rng));
      pr.C.row(i) = s * a.transpose();
      pr.d(i) = s * beta;
    }
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    INFO("trial " << trial);
    REQUIRE(res.status == Status::optimal);
    const VectorXd proj = target - (a.dot(target) - beta) / a.squaredNorm() * a;
    CHECK((res.z - proj).norm() <= 1e-10 * (1 + proj.norm()));
    CHECK(relative_stationarity(pr, res.z, res.y_eq, res.y_ineq) <= 1e-11);
    optimal += res.status == Status::optimal;
  }
  CHECK(optimal == 200);
}

// ---- Fault 14: warm-start drift in the running gradient ---------------------------------------

TEST_CASE("field 14: warm starts guessing soft rows saturated leave no gradient drift",
          "[qp][field][warm]") {
  std::mt19937_64 rng(14);
  std::uniform_int_distribution<int> state(0, 2);
  double worst = 0;
  for (int trial = 0; trial < 100; ++trial) {
    const Eigen::Index n = 3 + trial % 8, m = 4 * n;
    auto pr = random_qp(rng, n, trial % 3 == 0 ? 1 : 0, m);
    // Large soft weights: a saturation guess adds w C_i to the running gradient, then removes it.
    for (Eigen::Index i = 0; i < m; ++i)
      if (i % 2 == 0) pr.soft_weight(i) = std::pow(10.0, 2 + trial % 5);
    DenseSolver<double> cold, warm;
    const auto cold_res = cold.compute(pr).solve();
    REQUIRE(cold_res.status == Status::optimal);
    warm.compute(pr);
    RowStates guess(m);
    for (Eigen::Index i = 0; i < m; ++i)
      guess(i) = pr.is_soft(i) ? std::int8_t(RowState::saturated) : std::int8_t(state(rng));
    const auto& res = warm.solve(guess);
    INFO("trial " << trial);
    REQUIRE(res.status == Status::optimal);
    const double stat = relative_stationarity(pr, res.z, res.y_eq, res.y_ineq);
    CHECK(stat <= 1e-11);
    worst = std::max(worst, stat);
    CHECK((res.z - cold_res.z).norm() <= 1e-9 * (1 + cold_res.z.norm()));
  }
  CHECK(worst <= 1e-11);
}

// ---- Randomized: row scaling never changes the answer; duplicated rows terminate -------------

TEST_CASE("random row scalings 10^U(-8,8) give the unscaled answer", "[qp][field][random]") {
  std::mt19937_64 rng(15);
  std::uniform_real_distribution<double> expo(-8, 8);
  double worst = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Eigen::Index n = 2 + trial % 10, p = trial % 4 == 0 ? 1 : 0, m = 3 * n;
    auto pr = random_qp(rng, n, p, m);
    for (Eigen::Index i = 0; i < m; i += 3) pr.soft_weight(i) = 1.5;
    DenseSolver<double> ref_solver;
    const auto ref = ref_solver.compute(pr).solve();
    REQUIRE(ref.status == Status::optimal);
    auto scaled = pr;
    VectorXd s(m);
    for (Eigen::Index i = 0; i < m; ++i) {
      s(i) = std::pow(10.0, expo(rng));
      scaled.C.row(i) *= s(i);
      scaled.d(i) *= s(i);
      if (pr.is_soft(i)) scaled.soft_weight(i) /= s(i);  // the same penalty in the scaled row
    }
    for (Eigen::Index k = 0; k < p; ++k) {
      const double t = std::pow(10.0, expo(rng));
      scaled.A.row(k) *= t;
      scaled.b(k) *= t;
    }
    DenseSolver<double> solver;
    const auto& res = solver.compute(scaled).solve();
    INFO("trial " << trial);
    REQUIRE(res.status == Status::optimal);
    const double dz = (res.z - ref.z).norm() / (1 + ref.z.norm());
    CHECK(dz <= 1e-9);
    CHECK(res.row_state == ref.row_state);
    CHECK((res.y_ineq.cwiseProduct(s) - ref.y_ineq).norm() <= 1e-8 * (1 + ref.y_ineq.norm()));
    worst = std::max(worst, dz);
  }
  CHECK(worst <= 1e-9);
}

TEST_CASE("random QPs with duplicated and parallel rows terminate optimal with KKT to round-off",
          "[qp][field][random]") {
  std::mt19937_64 rng(16);
  std::uniform_real_distribution<double> expo(-6, 6);
  int optimal = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Eigen::Index n = 2 + trial % 10, m0 = 2 * n, extra = 1 + trial % (2 * n);
    auto base = random_qp(rng, n, trial % 5 == 0 ? 1 : 0, m0);
    if (trial % 3 == 0) base.H *= 1e-6;
    DenseSolver<double> ref_solver;
    const auto ref = ref_solver.compute(base).solve();
    REQUIRE(ref.status == Status::optimal);
    Problem<double> pr(n, base.A.rows(), m0 + extra);
    pr.H = base.H;
    pr.g = base.g;
    pr.A = base.A;
    pr.b = base.b;
    pr.C.topRows(m0) = base.C;
    pr.d.head(m0) = base.d;
    std::uniform_int_distribution<Eigen::Index> pick(0, m0 - 1);
    for (Eigen::Index j = 0; j < extra; ++j) {
      // Prefer copies of rows active at the solution: those are the ones that cycle.
      Eigen::Index i = pick(rng);
      for (int tries = 0; tries < 5 && ref.row_state(i) != RowState::active; ++tries) i = pick(rng);
      const double s = j % 4 == 0 ? 1.0 : std::pow(10.0, expo(rng));
      pr.C.row(m0 + j) = s * base.C.row(i);
      pr.d(m0 + j) = s * base.d(i);
    }
    DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    INFO("trial " << trial);
    REQUIRE(res.status == Status::optimal);
    // H = 1e-6 H0 with |g| ~ 5: z is determined only to eps |g| / lambda_min(H) ~ 1e-9
    // (the unduplicated reference is as far from exact), so there the absolute-floored
    // kkt_error is replaced by the scale-relative measures and a conditioning-aware distance.
    const bool small_h = trial % 3 == 0;
    const double z_tol =
        1e-9 * (1 + ref.z.norm()) + (small_h ? 1e3 * 2.2e-16 * base.g.norm() / 1e-6 : 0.0);
    if (!small_h) CHECK(kkt_error(pr, res.z, res.y_eq, res.y_ineq) <= 1e-10);
    CHECK(relative_stationarity(pr, res.z, res.y_eq, res.y_ineq) <= 1e-11);
    CHECK(relative_row_violation(pr, res.z) <= 1e-11);
    CHECK(res.y_ineq.minCoeff() >= 0.0);
    CHECK((res.z - ref.z).norm() <= z_tol);
    optimal += res.status == Status::optimal;
  }
  CHECK(optimal == 200);
}

// Fuzz finding (seed 1, input 40 125; tests/fuzz/regressions/): H nearly rank-1 (eig 1e-22 ..
// 1.8e-12), an equality and an inequality with the same normal, g = 7.8e7 (1, 1, 1). The
// solver skipped the exact-L1 row 11 (w = 1e4) as dependent, with a gap scale of 4e16 from a
// nearly singular working-set decomposition, and reported `optimal` with that row violated by
// 8.59 at multiplier 0 (objective 7.8211e7; z = (1, 0, 0) meets every row at 7.8125e7).
// The certificate now judges skipped rows at the final z directly: never optimal there.
TEST_CASE("fuzz: a soft row skipped as dependent is never violated under optimal",
          "[qp][field][fuzz]") {
  const double inf = std::numeric_limits<double>::infinity();
  Problem<double> qp(3, 1, 12);
  const double h = 6.103515625e-13, hd = 6.103515626e-13;
  qp.H << hd, h, h, h, hd, h, h, h, hd;
  qp.g.setConstant(78125000.0);
  qp.A.setConstant(0.78125);
  qp.b << 0.78125;
  const Eigen::RowVector3d ones = Eigen::RowVector3d::Ones();
  for (int i : {0, 1, 2, 4, 5, 6, 7}) qp.C.row(i) = 0.78125 * ones;
  for (int i : {3, 8}) qp.C.row(i) = 0.0078125 * ones;
  qp.C.row(9) << -1.625, -1.4375, -3.21875;
  qp.C.row(10) << -1.625, -1.4375, -3.21875;
  qp.C.row(11) << -2.4375, -0.4375, 0.875;
  qp.d << 0.78125, 1.5625, 1.5625, 0.328125, 0.78125, 1.5625, 2.34375, 2.34375, 0.3359375, 0, 0,
      -2.40625;
  qp.soft_weight << inf, inf, inf, inf, 1e-4, inf, inf, inf, inf, 1e-4, inf, 1e4;
  DenseSolver<double> solver;
  const auto& res = solver.compute(qp).solve();
  INFO("status " << rmpc::qp::to_string(res.status) << ", z = " << res.z.transpose());
  REQUIRE((res.status == Status::optimal || res.status == Status::inaccurate));
  if (res.status == Status::optimal) {
    // Then it must be the true optimum: every row met, objective 7.8125e7 to round-off.
    CHECK(relative_row_violation(qp, res.z) <= 1e-9);
    CHECK(res.objective <= 78125000.0 * (1 + 1e-9));
  }
}

TEST_CASE("fuzz: an equality written twice is redundant whatever the round-off of its coefficients",
          "[qp][field][fuzz]") {
  // Fuzz input equality_copy_roundoff_coefficient: rows 0 and 2 are the same equality, row 1
  // pins the rest; tiny H (1e-10 I) with huge g. Expressing row 2 through the working set gave
  // r = (1, 2.9e-18); the gap 2.9e-18 b_1 was judged against the componentwise scale
  // |r_1 b_1| of the same size, and the solve ended `infeasible`. Either row order: optimal,
  // one redundant equality, z = (1/32, -1/32).
  Problem<double> qp(2, 3, 0);
  qp.H << 1.000009765625e-10, 9.765625e-16, 9.765625e-16, 1.00001953125e-10;
  qp.g << -3125000.0, 181250000.0;
  qp.A << -0.03125, -0.03125, -0.03125, -2.28125, -0.03125, -0.03125;
  qp.b << 0.0, 0.0703125, 0.0;
  for (int order = 0; order < 2; ++order) {
    DenseSolver<double> solver;
    const auto& r = solver.compute(qp).solve();
    INFO("row order " << order << ": " << r.message);
    REQUIRE(r.status == Status::optimal);
    CHECK(solver.has_redundant_equalities());
    CHECK(std::abs(r.z(0) - 0.03125) < 1e-15);
    CHECK(std::abs(r.z(1) + 0.03125) < 1e-15);
    qp.A.row(1).swap(qp.A.row(2));
    std::swap(qp.b(1), qp.b(2));
  }
}

TEST_CASE(
    "fuzz: an equality also written as two inequalities under an ill-conditioned H is feasible",
    "[qp][field][fuzz]") {
  // Fuzz input dependent_copy_roundoff_ill_conditioned_ws: rows 2, 4, 6 are one row and 5, 7
  // its negation (2.0625 z1 + 2.28125 z3 = 9.9091796875 written as inequalities), with an
  // equality on 1'z; eig(H) in [1e-22, 2.4e-11], g = 2.28125. The copy's coefficients through
  // a working set of condition 2.9e5 came out r = (2e-11, -1, -3e-11), a gap of 3.7e-12 of
  // the scale that ignored that condition, and the solve ended `infeasible`.
  Problem<double> qp(3, 1, 8);
  const double a = 5.2041015625e-12, b = 1.0408203125e-11;
  qp.H << a + 1e-22, a, a, a, b + 1e-22, b, a, b, b + 1e-22;
  qp.g.setConstant(2.28125);
  qp.A.setConstant(2.28125);
  qp.b << 15.6123046875;
  const Eigen::RowVector3d pair(2.0625, 0.0, 2.28125), row0(0.25, 0.125, -1.15625);
  qp.C << row0, row0, pair, pair, pair, -pair, pair, -pair;
  qp.d << -1.7822265625, -1.7822265625, 9.9091796875, 12.1904296875, 9.9091796875, -9.9091796875,
      9.9091796875, -9.9091796875;
  const Eigen::Vector3d z0 = Eigen::Vector3d::Constant(2.28125);  // feasible by construction
  REQUIRE(std::abs(pair.dot(z0) - 9.9091796875) < 1e-14);
  DenseSolver<double> solver;
  const auto& r = solver.compute(qp).solve();
  INFO(r.message);
  REQUIRE(r.status == Status::optimal);
  CHECK(std::abs(qp.A.row(0).dot(r.z) - qp.b(0)) < 1e-9);
  CHECK(std::abs(pair.dot(r.z) - 9.9091796875) < 1e-9);
  CHECK(row0.dot(r.z) <= -1.7822265625 + 1e-9);
}

// Anchor QPs (../shared/spec/anchor_qps.md, nx = 8): 810 of the 1000 initial states are
// feasible. Before the dependency test was measured against L^{-T} (and above the round-off
// of a rotated normal), 31 (N = 10) and 47 (N = 30) of the 190 infeasible ones ended
// `inaccurate`: a bound exactly in the span of the working set entered on a round-off pivot
// (x0 #0, #43: |J2'n| / |J'n| = 1.7e-13, 5.1e-13) and the working set turned singular.
namespace anchor_nx8 {

struct Counts {
  int optimal = 0, infeasible = 0, with_active = 0;
};

/// Solves the initial states k = 0, stride, 2 stride, ... and #43 of the condensed nx = 8
/// problem of horizon N: each must be optimal with the reference's answer, or infeasible
/// (#0 and #43 are infeasible, the two that once ended `inaccurate`).
Counts solve_states(int N, std::size_t stride) {
  namespace anchor = rmpc::testing::anchor;
  const anchor::System sys = anchor::system_nx8();
  CHECK(sys.riccati_iterations == 32);
  const std::vector<VectorXd> x0s = anchor::initial_states(sys);
  const anchor::Condensed c = anchor::condense(sys, N);
  DenseSolver<double> solver;
  solver.compute(c.problem);
  REQUIRE(solver.info() == Status::optimal);
  Counts counts;
  for (std::size_t k = 0; k < x0s.size(); ++k) {
    if (k % stride != 0 && k != 43) continue;
    CAPTURE(N, k);
    const VectorXd g = c.g(x0s[k]), d = c.d(x0s[k]);
    solver.update_linear_terms(g, VectorXd(0), d);
    const auto& res = solver.solve();
    REQUIRE((res.status == Status::optimal || res.status == Status::infeasible));
    if (res.status == Status::infeasible) {
      ++counts.infeasible;
      continue;
    }
    ++counts.optimal;
    const anchor::Reference ref = anchor::reference_solution(c, g, d, res.z);
    REQUIRE(ref.ok);
    REQUIRE((res.z - ref.z).cwiseAbs().maxCoeff() <= 1e-8);
    counts.with_active += ref.any_active ? 1 : 0;
    if (k == 0 || k == 43) FAIL("x0 #0 and #43 are infeasible");
  }
  return counts;
}

}  // namespace anchor_nx8

TEST_CASE(
    "anchor QPs nx = 8: every 25th x0 and #43 are optimal (the reference's answer) or "
    "infeasible",
    "[qp][field][anchor]") {
  for (int N : {10, 30}) {
    const anchor_nx8::Counts counts = anchor_nx8::solve_states(N, 25);
    CHECK(counts.optimal + counts.infeasible == 41);
    CHECK(counts.infeasible >= 2);  // #0 and #43
  }
}

// [long]: the whole set, 2000 solves and reference checks (140 s in the sanitizer build, where
// the case above runs the same code on 82 of them).
TEST_CASE("anchor QPs nx = 8: every x0 is optimal (the reference's answer) or infeasible",
          "[qp][field][anchor][long]") {
  for (int N : {10, 30}) {
    const anchor_nx8::Counts counts = anchor_nx8::solve_states(N, 1);
    CHECK(counts.optimal == 810);
    CHECK(counts.infeasible == 190);
    CHECK(counts.with_active == 280);
  }
}

// Warm starts along a sequence of anchor QPs (nx = 8, N = 30; the first 200 initial states,
// each warm-started from its own cold solution's row state, the factor edited from one QP to
// the next): QP #151 (of the feasible ones) added a bound whose rotated normal had subnormal
// entries (1e-320); the Givens rotations built from them were not orthogonal (c^2 + s^2 off by
// 3e-4), J stopped satisfying J'HJ = I, and QPs #157 and #158 ended `inaccurate`.
TEST_CASE("anchor QPs nx = 8, N = 30: a chain of warm starts keeps the factor orthogonal",
          "[qp][field][anchor]") {
  namespace anchor = rmpc::testing::anchor;
  const anchor::System sys = anchor::system_nx8();
  const anchor::Condensed c = anchor::condense(sys, 30);
  const std::vector<VectorXd> x0s = anchor::initial_states(sys, 200);
  DenseSolver<double> solver;
  solver.compute(c.problem);
  REQUIRE(solver.info() == Status::optimal);
  std::vector<VectorXd> gs, ds, zs;
  std::vector<RowStates> guesses;
  for (const VectorXd& x0 : x0s) {
    const VectorXd g = c.g(x0), d = c.d(x0);
    solver.update_linear_terms(g, VectorXd(0), d);
    const auto& r = solver.solve();
    if (r.status == Status::infeasible) continue;
    REQUIRE(r.status == Status::optimal);
    gs.push_back(g), ds.push_back(d), zs.push_back(r.z), guesses.push_back(r.row_state);
  }
  REQUIRE(gs.size() > 158);
  for (std::size_t k = 0; k < gs.size(); ++k) {
    CAPTURE(k);
    solver.update_linear_terms(gs[k], VectorXd(0), ds[k]);
    const auto& r = solver.solve(guesses[k]);
    INFO(r.message);
    REQUIRE(r.status == Status::optimal);
    CHECK((r.z - zs[k]).cwiseAbs().maxCoeff() <= 1e-9 * (1 + zs[k].cwiseAbs().maxCoeff()));
  }
  // A loss of orthogonality stays in J (it was 7.1 after the last QP): checked once, at the end.
  const MatrixXd& J = solver.factor().J();
  const MatrixXd I = MatrixXd::Identity(c.n(), c.n());
  CHECK((J.transpose() * c.problem.H * J - I).cwiseAbs().maxCoeff() <= 1e-12);
}

// The same fault at its source: normals whose rotated forms have subnormal entries (and a
// remove that rotates subnormal entries of R) leave J orthogonal to round-off.
TEST_CASE("working-set factor: Givens rotations of subnormal entries stay orthogonal",
          "[qp][field]") {
  const Eigen::Index n = 5;
  rmpc::qp::detail::WorkingSetFactor<double, Eigen::Dynamic> factor;
  const MatrixXd L = MatrixXd::Identity(n, n);  // H = I: J0 = I
  factor.set_hessian_factor(L, 1.0);
  const double tiny = 5.2e-321;  // subnormal: about ten significant bits
  VectorXd normal(n);
  normal << 1.0, 0.0, 0.0, 0.0, 0.0;
  VectorXd d(n);
  factor.rotate_normal(normal, d);
  factor.add(d);
  normal << 0.0, -tiny, 0.98 * tiny, 3.1 * tiny, -1.7 * tiny;
  factor.rotate_normal(normal, d);
  factor.add(d);
  normal << 0.5, 0.25 * tiny, -tiny, 2.0 * tiny, 0.0;
  factor.rotate_normal(normal, d);
  factor.add(d);
  const MatrixXd I = MatrixXd::Identity(n, n);
  CHECK((factor.J().transpose() * factor.J() - I).cwiseAbs().maxCoeff() <= 1e-15);
  factor.remove(0);  // R's subdiagonal entries of size tiny are rotated away
  CHECK((factor.J().transpose() * factor.J() - I).cwiseAbs().maxCoeff() <= 1e-15);
}

// A dependent row at a vertex of the paper's MPC (tests/data/field/, found by bisecting the
// states of a ray to where the active set changes): u_0 <= 1 is in the span of six active
// state rows with a gap of 1.0e-11. The dependent-row test took it for round-off (against its
// scale 9.7) and left it out, while the certificate measured 5.0e-12 of the row's own scale
// (over certificate_tolerance): every pass came back to it and the solve ended `inaccurate`
// after eight. Now the row exchanges places with a member, as a violated row does.
TEST_CASE("field 15: a dependent row the certificate rejects is exchanged, not left out",
          "[qp][field]") {
  std::ifstream in(RMPC_TEST_DATA_DIR "/field/dependent_row_at_mpc_vertex.txt");
  REQUIRE(in.good());
  std::string token;
  auto next = [&in, &token]() {
    while (in >> token)
      if (token[0] == '#')
        std::getline(in, token);  // a comment line
      else
        return std::stod(token);  // std::stod reads "inf" (operator>> does not)
    FAIL("tests/data/field/dependent_row_at_mpc_vertex.txt ended early");
    return 0.0;
  };
  const auto n = Eigen::Index(next()), m = Eigen::Index(next());
  Problem<double> pr(n, 0, m);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) pr.H(i, j) = next();
  for (Eigen::Index i = 0; i < n; ++i) pr.g(i) = next();
  for (Eigen::Index i = 0; i < m; ++i)
    for (Eigen::Index j = 0; j < n; ++j) pr.C(i, j) = next();
  for (Eigen::Index i = 0; i < m; ++i) pr.d(i) = next();
  for (Eigen::Index i = 0; i < m; ++i) pr.soft_weight(i) = next();
  REQUIRE(!(in >> token));  // nothing left over: the sizes were read right

  DenseSolver<double> solver;
  REQUIRE(solver.compute(pr).info() == Status::optimal);
  const auto cold = solver.solve();
  INFO(cold.message);
  REQUIRE(cold.status == Status::optimal);
  CHECK(kkt_error(pr, cold.z, cold.y_eq, cold.y_ineq) <= 1e-10);
  CHECK(relative_row_violation(pr, cold.z) <= Settings<double>().certificate_tolerance);
  // Warm-started from the six state rows of the failing solves, and from the answer.
  RowStates guess = RowStates::Constant(m, std::int8_t(RowState::inactive));
  for (int r : {22, 26, 30, 34, 38, 42}) guess(r) = RowState::active;
  for (const RowStates& g : {guess, cold.row_state}) {
    const auto& warm = solver.solve(g);
    INFO(warm.message);
    REQUIRE(warm.status == Status::optimal);
    CHECK((warm.z - cold.z).cwiseAbs().maxCoeff() <= 1e-12);
  }
}

// The same judges on the smallest case, 1 <= z <= 1 - delta (opposite rows, the second one
// dependent on the first): a gap the data prove is `infeasible`; one within the dependent-row
// test's round-off but over the certificate's is `inaccurate`, said so at once (no member can
// leave); one within the certificate is `optimal` at z = 1 or z = 1 - delta.
TEST_CASE("field 15: 1 <= z <= 1 - delta by the size of delta", "[qp][field]") {
  for (const double g : {-3.0, 3.0}) {  // which row enters first
    for (const double delta : {1e-9, 1e-11, 5e-12, 1e-12, 0.0, -1e-12}) {
      CAPTURE(g, delta);
      Problem<double> pr = one_variable(1.0, g, {-1.0, 1.0}, {-1.0, 1.0 - delta});
      DenseSolver<double> solver;
      solver.compute(pr);
      const auto& r = solver.solve();
      INFO(r.message);
      if (delta >= 1e-11) {
        CHECK(r.status == Status::infeasible);
      } else if (delta == 5e-12) {
        CHECK(r.status == Status::inaccurate);
        CHECK(r.message.find("depends on the working set") != std::string::npos);
      } else {
        CHECK(r.status == Status::optimal);
        CHECK(std::abs(r.z(0) - 1.0) <= std::abs(delta) + 1e-15);
      }
    }
  }
}
