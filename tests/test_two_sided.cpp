#include "rmpc_catch.hpp"
#include "support/random_qp.hpp"
#include "support/thrown_message.hpp"

#include "rmpc/qp/sensitivity.hpp"
#include "rmpc/qp/two_sided.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using rmpc::qp::SideState;
using rmpc::qp::Status;
using rmpc::qp::TwoSidedProblem;
using rmpc::qp::TwoSidedResult;
using rmpc::qp::TwoSidedSolver;
using rmpc::testing::random_matrix;
using rmpc::testing::random_spd;

namespace {

const double inf = std::numeric_limits<double>::infinity();

// The KKT conditions of the two-sided QP checked on its own data, not on the one-sided rows
// the solver built: stationarity H z + g + A'y_eq + y_bound + C'y_row = 0, feasibility of every
// hard side, the sign of each multiplier against the side it is on, complementarity, and
// |y| <= w on soft sides (|y| = w where the side is violated).
double two_sided_kkt_error(const TwoSidedProblem<double>& q, const TwoSidedResult<double>& r) {
  const VectorXd& z = r.z;
  const double scale = 1.0 + q.H.cwiseAbs().maxCoeff() * z.cwiseAbs().maxCoeff() +
                       q.g.cwiseAbs().maxCoeff() + r.y_bound.cwiseAbs().maxCoeff();
  VectorXd grad = q.H * z + q.g + r.y_bound;
  if (q.A.rows() > 0) grad += q.A.transpose() * r.y_eq;
  if (q.C.rows() > 0) grad += q.C.transpose() * r.y_row;
  double err = grad.cwiseAbs().maxCoeff() / scale;
  const auto side = [&](double v, double lo, double hi, double y, double w) {
    const double rel = 1.0 + std::abs(v);
    const double below = std::max(0.0, lo - v) / rel, above = std::max(0.0, v - hi) / rel;
    if (std::isfinite(w)) {
      err = std::max(err, std::max(0.0, std::abs(y) - w) / scale);
      // Violated beyond round-off (an active side may sit 1e-17 outside): pinned at w.
      if (above > 1e-12) err = std::max(err, std::abs(y - w) / scale);
      if (below > 1e-12) err = std::max(err, std::abs(y + w) / scale);
    } else {
      err = std::max({err, below, above});
    }
    // y > 0 only on the upper side, y < 0 only on the lower side.
    if (y > 0) err = std::max(err, std::min(y / scale, std::max(0.0, hi - v) / rel));
    if (y < 0) err = std::max(err, std::min(-y / scale, std::max(0.0, v - lo) / rel));
  };
  for (Index j = 0; j < z.size(); ++j)
    side(z(j), q.lb(j), q.ub(j), r.y_bound(j), q.bound_soft_weight(j));
  for (Index i = 0; i < q.C.rows(); ++i)
    side(q.C.row(i).dot(z), q.l(i), q.u(i), r.y_row(i), q.soft_weight(i));
  for (Index k = 0; k < q.A.rows(); ++k)
    err = std::max(err, std::abs(q.A.row(k).dot(z) - q.b(k)) / (1.0 + std::abs(q.b(k))));
  return err;
}

// A random two-sided QP around the feasible point z0 = 0: each side finite with probability
// 0.7, at a positive margin, so that many sides are active but the problem stays feasible.
TwoSidedProblem<double> random_two_sided(std::mt19937_64& rng, Index n, Index m, bool soft) {
  TwoSidedProblem<double> q(n, 0, m);
  q.H = random_spd(rng, n);
  q.g = 5.0 * random_matrix(rng, n, 1);
  q.C = random_matrix(rng, m, n);
  std::uniform_real_distribution<double> margin(0.05, 1.0), coin(0.0, 1.0);
  for (Index j = 0; j < n; ++j) {
    if (coin(rng) < 0.7) q.lb(j) = -margin(rng);
    if (coin(rng) < 0.7) q.ub(j) = margin(rng);
  }
  for (Index i = 0; i < m; ++i) {
    if (coin(rng) < 0.7) q.l(i) = -margin(rng);
    if (coin(rng) < 0.7) q.u(i) = margin(rng);
    if (soft && coin(rng) < 0.5) q.soft_weight(i) = 0.5 + 3.0 * coin(rng);
  }
  return q;
}

}  // namespace

TEST_CASE("two-sided QPs: every answer meets the KKT conditions of its own data", "[two_sided]") {
  std::mt19937_64 rng(20261206);
  int active_sides = 0;
  for (int trial = 0; trial < 200; ++trial) {
    const Index n = 2 + trial % 9, m = trial % 7;
    const TwoSidedProblem<double> q = random_two_sided(rng, n, m, trial % 2 == 1);
    TwoSidedSolver<double> solver;
    solver.compute(q);
    REQUIRE(solver.info() == Status::optimal);
    const auto& r = solver.solve();
    INFO("trial " << trial << ": " << r.message);
    REQUIRE(r.status == Status::optimal);
    CHECK(two_sided_kkt_error(q, r) < 1e-10);
    for (SideState s : r.bound_state) active_sides += s != SideState::inactive;
    for (SideState s : r.row_state) active_sides += s != SideState::inactive;
    // A warm start from the answer's own states lands on the same point.
    const VectorXd z = r.z;
    const auto& w = solver.solve(r.bound_state, r.row_state);
    REQUIRE(w.status == Status::optimal);
    CHECK((w.z - z).cwiseAbs().maxCoeff() < 1e-12);
  }
  CHECK(active_sides > 200);  // the set exercises the sides, not only interior optima
}

TEST_CASE("two-sided QPs: states, signed multipliers and soft sides on a 1-D problem",
          "[two_sided]") {
  // minimize 1/2 z^2 - 5 z: unconstrained z = 5.
  TwoSidedProblem<double> q(1, 0, 1);
  q.H(0, 0) = 1.0;
  q.g(0) = -5.0;
  q.C(0, 0) = 2.0;  // 2 z in [l, u]
  TwoSidedSolver<double> solver;

  q.l(0) = -1.0, q.u(0) = 2.0;  // hard: z <= 1, y_row = (5 - 1) / 2 = 2
  const auto& a = solver.compute(q).solve();
  REQUIRE(a.ok());
  CHECK(a.z(0) == Approx(1.0).margin(1e-14));
  CHECK(a.y_row(0) == Approx(2.0).epsilon(1e-14));
  CHECK(a.row_state[0] == SideState::upper);
  CHECK(a.bound_state[0] == SideState::inactive);

  q.g(0) = 5.0;  // unconstrained z = -5: the lower side, y_row = -(5 - 0.5) / 2 = -2.25
  q.l(0) = -1.0;
  const auto& b = solver.compute(q).solve();
  REQUIRE(b.ok());
  CHECK(b.z(0) == Approx(-0.5).margin(1e-14));
  CHECK(b.y_row(0) == Approx(-2.25).epsilon(1e-14));
  CHECK(b.row_state[0] == SideState::lower);

  // Soft upper side with w = 1: z - 5 + 2 w = 0 at z = 3 > 1 (violated), penalty w (2 z - 2).
  q.g(0) = -5.0;
  q.soft_weight(0) = 1.0;
  const auto& c = solver.compute(q).solve();
  REQUIRE(c.ok());
  CHECK(c.z(0) == Approx(3.0).epsilon(1e-14));
  CHECK(c.y_row(0) == Approx(1.0).epsilon(1e-14));
  CHECK(c.row_state[0] == SideState::above_upper);
  CHECK(c.objective == Approx(0.5 * 9 - 15 + 1.0 * (6 - 2)).epsilon(1e-14));

  // A bound: -3 <= z <= 0.25 with the row gone: y_bound = 5 - 0.25.
  q.l(0) = -inf, q.u(0) = inf;
  q.ub(0) = 0.25, q.lb(0) = -3.0;
  const auto& d = solver.compute(q).solve();
  REQUIRE(d.ok());
  CHECK(d.z(0) == 0.25);
  CHECK(d.y_bound(0) == Approx(4.75).epsilon(1e-14));
  CHECK(d.bound_state[0] == SideState::upper);
  CHECK(solver.bound_row(0, true) == 0);
  CHECK(solver.bound_row(0, false) == 1);
  CHECK(solver.row(0, true) == -1);
  CHECK(solver.one_sided_solver().problem().C.rows() == 2);
}

TEST_CASE("two-sided QPs: equal sides, crossed sides and bad data", "[two_sided]") {
  std::mt19937_64 rng(7);
  TwoSidedProblem<double> q(3, 0, 2);
  q.H = random_spd(rng, 3);
  q.g << 1.0, -2.0, 3.0;
  q.C = random_matrix(rng, 2, 3);
  TwoSidedSolver<double> solver;

  SECTION("l = u is an equality, lb = ub pins a variable") {
    q.l(0) = q.u(0) = 0.3;
    q.lb(1) = q.ub(1) = -0.2;
    const auto& r = solver.compute(q).solve();
    REQUIRE(r.ok());
    CHECK(q.C.row(0).dot(r.z) == Approx(0.3).epsilon(1e-13));
    CHECK(r.z(1) == Approx(-0.2).epsilon(1e-15));
    CHECK(two_sided_kkt_error(q, r) < 1e-12);
  }
  SECTION("l > u on a hard row and lb > ub are infeasible, not invalid") {
    q.l(1) = 1.0, q.u(1) = 0.5;
    CHECK(solver.compute(q).solve().status == Status::infeasible);
    q.l(1) = -inf, q.u(1) = inf;
    q.lb(2) = 1.0, q.ub(2) = 0.0;
    CHECK(solver.compute(q).solve().status == Status::infeasible);
  }
  SECTION("NaN and a side at the wrong infinity are invalid_input, named") {
    q.lb(2) = std::nan("");
    solver.compute(q);
    CHECK(solver.info() == Status::invalid_input);
    CHECK(solver.result().message.find("lb(2) is NaN") != std::string::npos);
    CHECK(solver.solve().status == Status::invalid_input);
    q.lb(2) = -inf;
    q.u(1) = -inf;
    solver.compute(q);
    CHECK(solver.result().message.find("u(1) is -inf") != std::string::npos);
  }
  SECTION("update_linear_terms: a rejected update keeps the data; the layout is fixed") {
    q.u(0) = 0.1;
    q.lb(0) = -0.5;
    solver.compute(q);
    const VectorXd z = solver.solve().z;
    VectorXd lb = q.lb, ub = q.ub, l = q.l, u = q.u;
    u(0) = std::nan("");
    solver.update_linear_terms(q.g, q.b, lb, ub, l, u);
    CHECK(solver.info() == Status::invalid_input);
    CHECK(solver.result().message.find("u(0) is NaN") != std::string::npos);
    const auto& again = solver.solve();  // the last accepted data
    REQUIRE(again.ok());
    CHECK(again.z == z);
    u(0) = inf;  // finite at compute(): a different row layout
    CHECK(rmpc::testing::thrown_message([&] {
            solver.update_linear_terms(q.g, q.b, lb, ub, l, u);
          }).find("row 0 changed between finite and infinite") != std::string::npos);
    u(0) = 0.1;
    CHECK(rmpc::testing::thrown_message([&] {
            solver.update_linear_terms(q.g, q.b, lb, ub, l, VectorXd(3));
          }).find("l, u 2, 3 (m = 2)") != std::string::npos);
  }
  SECTION("sizes throw, naming the argument") {
    q.u.resize(3);
    CHECK(rmpc::testing::thrown_message([&] {
            solver.compute(q);
          }).find("u has 3 entries, expected m = C.rows() = 2") != std::string::npos);
    CHECK(rmpc::testing::thrown_message<std::logic_error>([&] {
            TwoSidedSolver<double> fresh;
            fresh.update_linear_terms(q.g, q.b, q.lb, q.ub, q.l, q.l);
          }).find("call compute() first") != std::string::npos);
  }
}

TEST_CASE("two-sided QPs: the same answer as the one-sided rows written by hand, fixed sizes",
          "[two_sided]") {
  // lb <= z <= ub and l <= C z <= u as (I; -I; C; -C) z <= (ub; -lb; u; -l) for DenseSolver.
  std::mt19937_64 rng(11);
  TwoSidedProblem<double, 4, 0> q;
  q.H = random_spd(rng, 4);
  q.g = 4.0 * random_matrix(rng, 4, 1);
  q.lb.setConstant(-0.3);
  q.ub.setConstant(0.4);
  q.C = random_matrix(rng, 2, 4);
  q.l = VectorXd::Constant(2, -0.2);
  q.u = VectorXd::Constant(2, 0.25);
  q.soft_weight = VectorXd::Constant(2, inf);
  rmpc::qp::Problem<double> p(4, 0, 12);
  p.H = q.H;
  p.g = q.g;
  p.C << MatrixXd::Identity(4, 4), -MatrixXd::Identity(4, 4), q.C, -q.C;
  p.d << q.ub, -q.lb, q.u, -q.l;
  rmpc::qp::DenseSolver<double> one_sided;
  const auto& expected = one_sided.compute(p).solve();
  TwoSidedSolver<double, 4, 0> solver;
  const auto& r = solver.compute(q).solve();
  REQUIRE(expected.ok());
  REQUIRE(r.ok());
  CHECK(r.z == expected.z);  // the same rows in the same order: the same arithmetic
  CHECK(r.y_bound == expected.y_ineq.head(4) - expected.y_ineq.segment(4, 4));
  CHECK(r.y_row == expected.y_ineq.segment(8, 2) - expected.y_ineq.tail(2));

  // Fixed sizes take vectors of any size and check them: a dynamic vector of the wrong size
  // throws naming the argument (it was once converted to the fixed size unchecked), and the
  // solver keeps its data.
  const VectorXd l2 = q.l, u2 = q.u;
  CHECK_THROWS_WITH(solver.update_linear_terms(VectorXd::Zero(3), VectorXd(0), q.lb, q.ub, l2, u2),
                    Catch::Matchers::Contains("g, b have 3, 0 entries, expected n = 4"));
  CHECK_THROWS_WITH(solver.update_linear_terms(q.g, VectorXd(0), VectorXd::Zero(5), q.ub, l2, u2),
                    Catch::Matchers::Contains("lb, ub have 5, 4 entries"));
  rmpc::qp::DenseSolver<double, 4, 0, 12> fixed;
  rmpc::qp::Problem<double, 4, 0, 12> pf;
  pf.H = p.H;
  pf.g = p.g;
  pf.C = p.C;
  pf.d = p.d;
  REQUIRE(fixed.compute(pf).info() == Status::optimal);
  CHECK_THROWS_WITH(fixed.update_linear_terms(VectorXd::Zero(5), VectorXd(0), VectorXd(p.d)),
                    Catch::Matchers::Contains("g, b, d have 5, 0, 12 entries, expected n = 4"));
  CHECK_THROWS_WITH(fixed.update_linear_terms(VectorXd(p.g), VectorXd(0), VectorXd::Zero(11)),
                    Catch::Matchers::Contains("g, b, d have 4, 0, 11 entries"));
  CHECK((fixed.solve().z - expected.z).norm() <= 1e-12);
  CHECK(solver.solve().z == expected.z);
}

TEST_CASE("two-sided QPs: dz/dtheta and d2z/dtheta2 through the expanded derivatives",
          "[two_sided]") {
  // theta moves u(0) and ub(1) (first order), l(1) quadratically, and row 0 of C: at
  // theta0 the upper side of row 0 and the upper bound of z_1 are active (checked).
  using Solver = TwoSidedSolver<double>;
  std::mt19937_64 rng(3);
  TwoSidedProblem<double> q0(3, 0, 2);
  q0.H = random_spd(rng, 3);
  q0.g << -3.0, -4.0, 1.0;
  q0.C << 1.0, 0.5, -0.2, 0.3, -1.0, 0.4;
  q0.u << 0.5, 2.0;
  q0.l << -2.0, -0.4;
  q0.ub << inf, 0.3, inf;
  const VectorXd c_dir = (VectorXd(3) << 0.2, -0.1, 0.3).finished();
  const auto at = [&](const VectorXd& t) {
    TwoSidedProblem<double> q = q0;
    q.u(0) += t(0);
    q.ub(1) += 0.5 * t(1);
    q.l(1) += t(0) * t(1);
    q.C.row(0) += t(1) * c_dir.transpose();
    return q;
  };
  const VectorXd theta = (VectorXd(2) << 0.05, -0.1).finished();
  Solver solver;
  const auto& r = solver.compute(at(theta)).solve();
  REQUIRE(r.ok());
  REQUIRE(r.row_state[0] == SideState::upper);
  REQUIRE(r.bound_state[1] == SideState::upper);

  rmpc::qp::ProblemDerivatives<double> dX;
  const Index m1 = solver.one_sided_solver().problem().C.rows();
  dX.resize(2, 3, 0, m1, true);
  dX.dH.clear(), dX.dg.clear(), dX.dA.clear(), dX.db.clear(), dX.dw.clear();
  dX.d2H.clear(), dX.d2g.clear(), dX.d2A.clear(), dX.d2b.clear(), dX.d2C.clear(), dX.d2w.clear();
  const VectorXd none(0);
  const VectorXd du0 = (VectorXd(2) << 1.0, 0.0).finished();
  const VectorXd dub1 = (VectorXd(3) << 0.0, 0.5, 0.0).finished();
  solver.expand_rhs(none, none, (VectorXd(2) << 0.0, theta(1)).finished(), du0, dX.dd[0]);
  solver.expand_rhs(none, dub1, (VectorXd(2) << 0.0, theta(0)).finished(), none, dX.dd[1]);
  MatrixXd dC = MatrixXd::Zero(2, 3);
  solver.expand_rows(dC, dX.dC[0]);
  dC.row(0) = c_dir.transpose();
  solver.expand_rows(dC, dX.dC[1]);
  for (int k : {0, 1, 2, 3}) dX.d2d[size_t(k)].setZero(m1);
  const VectorXd d2l = (VectorXd(2) << 0.0, 1.0).finished();
  solver.expand_rhs(none, none, d2l, none, dX.d2d[1]);  // d2 l(1) / dtheta0 dtheta1 = 1
  solver.expand_rhs(none, none, d2l, none, dX.d2d[2]);
  rmpc::qp::SensitivitySettings<double> settings;
  settings.second_order = true;
  rmpc::qp::Sensitivity<double> sens;
  sens.compute(solver.one_sided_solver(), dX, settings);
  REQUIRE(sens.info() == rmpc::qp::SensitivityStatus::ok);

  const double h = 1e-6;
  for (Index i = 0; i < 2; ++i) {
    VectorXd tp = theta, tm = theta;
    tp(i) += h, tm(i) -= h;
    Solver sp, sm;
    const VectorXd zp = sp.compute(at(tp)).solve().z, zm = sm.compute(at(tm)).solve().z;
    CHECK((sens.dz_dtheta().col(i) - (zp - zm) / (2 * h)).cwiseAbs().maxCoeff() < 1e-7);
  }
  // Second order against differences of the exact first derivative (error O(h^2)).
  const double h2 = 1e-5;
  for (Index j = 0; j < 2; ++j) {
    MatrixXd dz[2];
    for (int sgn : {0, 1}) {
      VectorXd t = theta;
      t(j) += sgn == 0 ? h2 : -h2;
      Solver s;
      s.compute(at(t)).solve();
      rmpc::qp::ProblemDerivatives<double> dXt = dX;
      s.expand_rhs(none, none, (VectorXd(2) << 0.0, t(1)).finished(), du0, dXt.dd[0]);
      s.expand_rhs(none, dub1, (VectorXd(2) << 0.0, t(0)).finished(), none, dXt.dd[1]);
      rmpc::qp::Sensitivity<double> st;
      st.compute(s.one_sided_solver(), dXt);
      REQUIRE(st.info() == rmpc::qp::SensitivityStatus::ok);
      dz[sgn] = st.dz_dtheta();
    }
    const MatrixXd fd = (dz[0] - dz[1]) / (2 * h2);
    for (Index i = 0; i < 2; ++i)
      CHECK((sens.d2z_dtheta2(i, j) - fd.col(i)).cwiseAbs().maxCoeff() < 1e-6);
  }
}

TEST_CASE("two-sided QPs: a saturated soft side differentiates through expand_weights",
          "[two_sided]") {
  // minimize 1/2 |z|^2 - 5 z_0 - z_1 with -1 <= z_0 + z_1 <= 1 + theta_1 soft, weight
  // 1 + theta_0: the upper side is violated, z = (5, 1) - w (1, 1), dz/dw = -(1, 1), and the
  // side's value does not matter while it is violated (dz/dtheta_1 = 0).
  const auto at = [](const VectorXd& t) {
    TwoSidedProblem<double> q(2, 0, 1);
    q.H.setIdentity();
    q.g << -5.0, -1.0;
    q.C << 1.0, 1.0;
    q.l(0) = -1.0;
    q.u(0) = 1.0 + t(1);
    q.soft_weight(0) = 1.0 + t(0);
    return q;
  };
  const VectorXd theta = VectorXd::Zero(2);
  TwoSidedSolver<double> solver;
  const auto& r = solver.compute(at(theta)).solve();
  REQUIRE(r.ok());
  REQUIRE(r.row_state[0] == SideState::above_upper);
  CHECK(r.z(0) == Approx(4.0).epsilon(1e-15));
  CHECK(r.z(1) == Approx(0.0).margin(1e-15));

  rmpc::qp::ProblemDerivatives<double> dX;
  const Index m1 = solver.one_sided_solver().problem().C.rows();
  dX.resize(2, 2, 0, m1, false);
  dX.dH.clear(), dX.dg.clear(), dX.dA.clear(), dX.db.clear(), dX.dC.clear();
  const VectorXd none(0), one = VectorXd::Ones(1);
  solver.expand_rhs(none, none, none, none, dX.dd[0]);
  solver.expand_rhs(none, none, none, one, dX.dd[1]);
  solver.expand_weights(none, one, dX.dw[0]);
  solver.expand_weights(none, none, dX.dw[1]);
  rmpc::qp::Sensitivity<double> sens;
  sens.compute(solver.one_sided_solver(), dX);
  REQUIRE(sens.info() == rmpc::qp::SensitivityStatus::ok);
  CHECK(sens.dz_dtheta()(0, 0) == Approx(-1.0).epsilon(1e-14));
  CHECK(sens.dz_dtheta()(1, 0) == Approx(-1.0).epsilon(1e-14));
  CHECK(sens.dz_dtheta().col(1).cwiseAbs().maxCoeff() < 1e-15);
  const double h = 1e-6;
  for (Index i = 0; i < 2; ++i) {
    VectorXd tp = theta, tm = theta;
    tp(i) += h, tm(i) -= h;
    TwoSidedSolver<double> sp, sm;
    const VectorXd zp = sp.compute(at(tp)).solve().z, zm = sm.compute(at(tm)).solve().z;
    CHECK((sens.dz_dtheta().col(i) - (zp - zm) / (2 * h)).cwiseAbs().maxCoeff() < 1e-8);
  }
  CHECK(rmpc::testing::thrown_message([&] {
          solver.expand_weights(none, VectorXd(2), dX.dw[0]);
        }).find("dw_row has 2 entries, expected 0 or 1") != std::string::npos);
}

TEST_CASE("two-sided QPs: the faults a new user's tests found stay fixed", "[two_sided]") {
  using rmpc::testing::thrown_message;
  SECTION("a compute() that throws leaves the solver as it was") {
    TwoSidedProblem<double> q(1, 0, 0);
    q.H(0, 0) = 1.0, q.g(0) = -5.0, q.ub(0) = 1.0;
    TwoSidedSolver<double> s;
    s.compute(q).solve();
    TwoSidedProblem<double> bad = q;
    bad.ub(0) = inf, bad.lb(0) = -1.0;
    bad.A.resize(1, 2), bad.b.resize(1);
    CHECK(thrown_message([&] { s.compute(bad); }).find("A (columns) has 2") != std::string::npos);
    const auto& r = s.solve();  // the old problem, in its own layout: z = 1 at the upper bound
    REQUIRE(r.ok());
    CHECK(r.z(0) == 1.0);
    CHECK(r.y_bound(0) == Approx(4.0).epsilon(1e-14));
    CHECK(r.bound_state[0] == SideState::upper);
    // The same for a setting DenseSolver::compute() rejects (a throw from inside it).
    bad.A.resize(0, 1), bad.b.resize(0);
    s.settings().max_iterations = -1;
    CHECK(thrown_message([&] { s.compute(bad); }).find("max_iterations") != std::string::npos);
    s.settings().max_iterations = 0;
    const auto& again = s.solve();
    REQUIRE(again.ok());
    CHECK(again.y_bound(0) == Approx(4.0).epsilon(1e-14));
    CHECK(again.bound_state[0] == SideState::upper);
  }
  SECTION("a soft l = u row with one side active and the other saturated: state by y's sign") {
    TwoSidedProblem<double> q(3, 0, 2);
    q.H.setIdentity();
    q.g << -4.0, 4.0, -1.0;
    q.C << 0.0, 1.0, 0.0, 1.0, -1.0, -1.0;
    q.l(0) = q.u(0) = 0.0;
    q.soft_weight(0) = 3.0;
    q.u(1) = 0.5;
    TwoSidedSolver<double> s;
    const auto& r = s.compute(q).solve();
    REQUIRE(r.ok());
    CHECK(two_sided_kkt_error(q, r) < 1e-12);
    CHECK(r.y_row(0) < 0.0);
    CHECK(r.row_state[0] == SideState::lower);
  }
  SECTION("fixed sizes before compute(): call-order errors, not garbage") {
    TwoSidedSolver<double, 4, 0> s;
    VectorXd dd;
    CHECK(thrown_message<std::logic_error>([&] {
            s.solve(std::vector<SideState>(4), {});
          }).find("called before compute()") != std::string::npos);
    CHECK_THROWS_AS(s.expand_rhs(VectorXd(), VectorXd::Ones(4), VectorXd(), VectorXd(), dd),
                    std::logic_error);
    CHECK_THROWS_AS(s.bound_row(0, true), std::logic_error);
    const TwoSidedProblem<double, 4> q;  // fixed n, dynamic p: no bounds, hard, not garbage
    CHECK(q.lb.minCoeff() == -inf);
    CHECK(q.ub.maxCoeff() == inf);
    CHECK(q.bound_soft_weight.minCoeff() == inf);
  }
  SECTION("messages name the user's data, and stay current") {
    TwoSidedProblem<double> q(2, 0, 3);
    q.H.setIdentity();
    q.C.setOnes();
    q.u.setConstant(1.0);
    q.soft_weight(2) = -2.0;  // row 2's upper side is one-sided row 2, its lower side absent
    TwoSidedSolver<double> s;
    s.compute(q);
    CHECK(s.info() == Status::invalid_input);
    CHECK(s.result().message.find("soft_weight(2) must be > 0") != std::string::npos);
    q.soft_weight(2) = inf;
    q.H(0, 1) = 0.5;  // not symmetric: DenseSolver rejects it, the message is passed on
    s.compute(q);
    CHECK(s.info() == Status::invalid_input);
    CHECK_FALSE(s.result().message.empty());
    q.H(0, 1) = 0.0;
    s.compute(q);
    CHECK(s.info() == Status::optimal);
    CHECK(s.result().message.empty());
    VectorXd lb = q.lb, ub = q.ub, l = q.l, u = q.u, g = q.g;
    l(0) = std::nan("");  // NaN where the side is absent: invalid_input, not a layout change
    s.update_linear_terms(g, q.b, lb, ub, l, u);
    CHECK(s.info() == Status::invalid_input);
    CHECK(s.result().message.find("l(0) is NaN") != std::string::npos);
    l(0) = -inf;
    g(1) = std::nan("");  // then a NaN in g: the message says g, not the last one
    s.update_linear_terms(g, q.b, lb, ub, l, u);
    CHECK(s.info() == Status::invalid_input);
    CHECK(s.result().message.find("l(0)") == std::string::npos);
    CHECK_FALSE(s.result().message.empty());
  }
}
