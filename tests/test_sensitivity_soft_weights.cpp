// qp::Sensitivity with soft (exact-L1) rows whose weights depend on theta: the saturated
// rows' term w_r(theta) C_r(theta)' of the stationarity condition is differentiated whole from
// ProblemDerivatives::dw, d2w (issue #14; before, the caller had to fold dw_r C_r' into dg and
// d2w C' + dw_i dC_j' + dw_j dC_i' into d2g). Checked against central differences of the
// solver's own solution, to first and second order, on a small QP whose weights, rows and
// right-hand sides are non-affine in theta, at points with two saturated soft rows, an active
// hard row, a weakly active hard row (zero slack, zero multiplier along every theta) and an
// inactive soft row. The derivative data come from nested AutoDiffScalar (rmpc/mpc/autodiff.hpp),
// so they are exact.
#include "rmpc_catch.hpp"

#include "rmpc/mpc/autodiff.hpp"
#include "rmpc/qp/sensitivity.hpp"

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <stdexcept>

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using rmpc::qp::DenseSolver;
using rmpc::qp::Problem;
using rmpc::qp::ProblemDerivatives;
using rmpc::qp::RowState;
using rmpc::qp::Sensitivity;
using rmpc::qp::SensitivityStatus;
using rmpc::qp::Status;

namespace {

constexpr Index n = 3, m = 5, np = 2;
using Ad2 = rmpc::mpc::AutoDiffTypes<double, Eigen::Dynamic>::Ad2;

template <class T>
struct SoftQpData {
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> H, C;
  Eigen::Matrix<T, Eigen::Dynamic, 1> g, d, w;
};

// Rows: 0, 1 soft and saturated; 2 hard and active; 3 hard, weakly active (z_2 is decoupled
// and its unconstrained optimum t(theta) lies on the row z_2 <= t(theta) for every theta);
// 4 soft and inactive. Weights, rows and right-hand sides are non-affine in theta.
template <class T>
void soft_qp(const Eigen::Matrix<T, Eigen::Dynamic, 1>& th, SoftQpData<T>& q) {
  using std::cos;
  using std::exp;
  using std::sin;
  const T a = th(0), b = th(1), zero(0.0), one(1.0);
  const T inf(std::numeric_limits<double>::infinity());
  const T t = sin(a) + T(0.5) * b * b;
  q.H.resize(n, n);
  q.H << T(2.0) + T(0.5) * a * a, T(0.3) * b, zero, T(0.3) * b, T(3.0), zero, zero, zero, T(2.0);
  q.g.resize(n);
  q.g << T(-6.0) + a * b, T(-5.0) + b * b, T(-2.0) * t;
  q.C.resize(m, n);
  q.C << one, a * a, zero,                          // soft, saturated
      T(0.2) * cos(b), one + T(0.3) * a * b, zero,  // soft, saturated
      one, one + T(0.3) * a * b, zero,              // hard, active
      zero, zero, one,                              // hard, weakly active
      -one, -a, zero;                               // soft, inactive
  q.d.resize(m);
  q.d << T(0.9) + T(0.5) * b * b, T(0.5) + a * a, T(2.0) + T(0.1) * a * a * a, t, T(4.0) + b;
  q.w.resize(m);
  q.w << T(0.5) + a * a + T(0.3) * exp(b), one + T(0.5) * sin(a) + a * b * b, inf, inf,
      T(2.0) + a * b;
}

Problem<double> problem_at(const VectorXd& theta) {
  SoftQpData<double> q;
  soft_qp<double>(theta, q);
  Problem<double> pr(n, 0, m);
  pr.H = q.H, pr.g = q.g, pr.C = q.C, pr.d = q.d, pr.soft_weight = q.w;
  return pr;
}

// Every block from one nested-AutoDiff evaluation; hard rows get dw = d2w = 0.
ProblemDerivatives<double> derivatives_at(const VectorXd& theta) {
  Eigen::Matrix<Ad2, Eigen::Dynamic, 1> th;
  rmpc::mpc::detail::seed_second<double, Eigen::Dynamic>(theta, th);
  SoftQpData<Ad2> q;
  soft_qp<Ad2>(th, q);
  ProblemDerivatives<double> dx;
  dx.resize(np, n, 0, m, true);
  dx.dA.clear(), dx.db.clear(), dx.d2A.clear(), dx.d2b.clear();
  auto finite = [](const Ad2& x) { return std::isfinite(rmpc::mpc::detail::ad_value(x)); };
  for (Index i = 0; i < np; ++i) {
    const auto si = size_t(i);
    rmpc::mpc::detail::take_first(q.H, i, dx.dH[si]);
    rmpc::mpc::detail::take_first(q.g, i, dx.dg[si]);
    rmpc::mpc::detail::take_first(q.C, i, dx.dC[si]);
    rmpc::mpc::detail::take_first(q.d, i, dx.dd[si]);
    for (Index r = 0; r < m; ++r)
      dx.dw[si](r) = finite(q.w(r)) ? rmpc::mpc::detail::ad_first(q.w(r), i) : 0.0;
    for (Index j = 0; j < np; ++j) {
      const auto ij = size_t(i * np + j);
      rmpc::mpc::detail::take_second(q.H, i, j, dx.d2H[ij]);
      rmpc::mpc::detail::take_second(q.g, i, j, dx.d2g[ij]);
      rmpc::mpc::detail::take_second(q.C, i, j, dx.d2C[ij]);
      rmpc::mpc::detail::take_second(q.d, i, j, dx.d2d[ij]);
      for (Index r = 0; r < m; ++r)
        dx.d2w[ij](r) = finite(q.w(r)) ? rmpc::mpc::detail::ad_second(q.w(r), i, j) : 0.0;
    }
  }
  return dx;
}

VectorXd solve_z(const VectorXd& theta, const DenseSolver<double>::RowStates& expected) {
  DenseSolver<double> s;
  const auto& r = s.compute(problem_at(theta)).solve();
  REQUIRE(r.status == Status::optimal);
  REQUIRE(r.row_state == expected);  // central differences on one smooth branch
  return r.z;
}

struct Errors {
  double first = 0, second = 0, functional = 0;
};

// dz/dtheta against (z(th + h e_i) - z(th - h e_i)) / 2h; d2z/dtheta2 (and the adjoint
// functional Hessians e_k' d2z) against the four-point central second difference of z.
Errors check_point(const VectorXd& theta) {
  DenseSolver<double> solver;
  const auto& res = solver.compute(problem_at(theta)).solve();
  REQUIRE(res.status == Status::optimal);
  INFO("row states " << res.row_state.cast<int>().transpose());
  REQUIRE(res.row_state(0) == RowState::saturated);
  REQUIRE(res.row_state(1) == RowState::saturated);
  REQUIRE(res.row_state(2) == RowState::active);
  REQUIRE(res.row_state(4) == RowState::inactive);
  REQUIRE(res.y_ineq(2) > 0.1);
  const auto dx = derivatives_at(theta);
  Sensitivity<double> sens;
  sens.compute(solver, dx);
  REQUIRE(sens.info() == SensitivityStatus::weakly_active);
  REQUIRE(sens.row_flags()(3) == rmpc::qp::RowFlag::row_weakly_active);
  // A saturated multiplier is its weight: its derivative is dw.
  for (Index i = 0; i < np; ++i) {
    CHECK(sens.dy_ineq_dtheta()(0, i) == dx.dw[size_t(i)](0));
    CHECK(sens.dy_ineq_dtheta()(1, i) == dx.dw[size_t(i)](1));
  }

  Errors err;
  const auto states = res.row_state;
  const double h1 = 1e-6, h2 = 1e-4;
  auto at = [&](Index i, double hi, Index j, double hj) {
    VectorXd t = theta;
    t(i) += hi, t(j) += hj;
    return solve_z(t, states);
  };
  for (Index i = 0; i < np; ++i) {
    const VectorXd fd = (at(i, h1, i, 0) - at(i, -h1, i, 0)) / (2 * h1);
    const double e = (sens.dz_dtheta().col(i) - fd).cwiseAbs().maxCoeff() / (1 + fd.norm());
    err.first = std::max(err.first, e);
    for (Index j = 0; j <= i; ++j) {
      VectorXd fd2;
      if (i == j)
        fd2 = (at(i, h2, i, 0) - 2 * solver.result().z + at(i, -h2, i, 0)) / (h2 * h2);
      else
        fd2 = (at(i, h2, j, h2) - at(i, h2, j, -h2) - at(i, -h2, j, h2) + at(i, -h2, j, -h2)) /
              (4 * h2 * h2);
      const double e2 = (sens.d2z_dtheta2(i, j) - fd2).cwiseAbs().maxCoeff() / (1 + fd2.norm());
      err.second = std::max(err.second, e2);
      MatrixXd fh(np, np);
      for (Index k = 0; k < n; ++k) {
        sens.functional_hessian(VectorXd::Unit(n, k), fh);
        err.functional = std::max(err.functional, std::abs(fh(i, j) - fd2(k)) / (1 + fd2.norm()));
      }
    }
  }
  return err;
}

}  // namespace

TEST_CASE("theta-dependent soft weights: dz/dtheta and d2z/dtheta2 match central differences",
          "[sensitivity][soft]") {
  const double points[][2] = {{0.3, -0.2}, {-0.25, 0.35}, {0.1, 0.4}};
  for (const auto& p : points) {
    VectorXd theta(np);
    theta << p[0], p[1];
    INFO("theta = " << theta.transpose());
    const Errors e = check_point(theta);
    INFO("max relative errors: first " << e.first << ", second " << e.second << ", functional "
                                       << e.functional);
    WARN("theta = " << theta.transpose() << ": first " << e.first << ", second " << e.second
                    << ", functional " << e.functional);
    CHECK(e.first < 1e-8);
    CHECK(e.second < 1e-6);
    CHECK(e.functional < 1e-6);
  }
}

TEST_CASE("theta-dependent soft weights: the weight blocks are read and checked",
          "[sensitivity][soft]") {
  VectorXd theta(np);
  theta << 0.3, -0.2;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(problem_at(theta)).solve().status == Status::optimal);
  auto dx = derivatives_at(theta);
  Sensitivity<double> with, without;
  with.compute(solver, dx);
  auto dx0 = dx;
  dx0.dw.clear(), dx0.d2w.clear();
  without.compute(solver, dx0);
  // The saturated rows' weights move z: leaving dw out is a different (wrong) answer.
  CHECK((with.dz_dtheta() - without.dz_dtheta()).norm() > 1e-2);
  // Sizes are checked before anything is read.
  auto bad = dx;
  bad.dw.pop_back();
  CHECK_THROWS_AS(with.compute(solver, bad), std::invalid_argument);
  bad = dx;
  bad.d2w[1].resize(m - 1);
  CHECK_THROWS_AS(with.compute(solver, bad), std::invalid_argument);
}

namespace {

// Two decoupled variables, one parameter: min 0.5 |z|^2 + g(theta)'z with row 0 soft,
// z_0 <= theta, weight w(theta) = 1 + c theta, and row 1 hard, z_1 <= 0. At theta = 0 both
// rows have zero slack; row 0's multiplier -g_0 - theta = 1 + (a - 1) theta sits at its weight
// and row 1's multiplier theta at 0 (g_1 = -theta): both weakly active. Held active
// (keep_active), row 1's multiplier grows (valid for theta >= 0 only) and row 0's stays in its
// box [0, w(theta)] for theta >= 0 exactly when its derivative a - 1 is at most dw = c.
Problem<double> weak_upper_qp(double theta, double a, double c) {
  Problem<double> pr(2, 0, 2);
  pr.H.setIdentity();
  pr.g << -1.0 - a * theta, -theta;
  pr.C << 1.0, 0.0, 0.0, 1.0;
  pr.d << theta, 0.0;
  pr.soft_weight << 1.0 + c * theta, std::numeric_limits<double>::infinity();
  return pr;
}

Sensitivity<double> weak_upper_sensitivity(double a, double c, DenseSolver<double>& solver,
                                           ProblemDerivatives<double>& dx) {
  REQUIRE(solver.compute(weak_upper_qp(0.0, a, c)).solve().status == Status::optimal);
  dx.resize(1, 2, 0, 2, false);
  dx.dA.clear(), dx.db.clear(), dx.dH.clear(), dx.dC.clear();
  dx.dg[0] << -a, -1.0;
  dx.dd[0] << 1.0, 0.0;
  dx.dw[0] << c, 0.0;
  rmpc::qp::SensitivitySettings<double> settings;
  settings.weak_rows = rmpc::qp::WeakRowChoice::keep_active;
  Sensitivity<double> sens;
  sens.compute(solver, dx, settings);
  return sens;
}

}  // namespace

TEST_CASE("theta-dependent soft weights: a multiplier at its weight is checked against dw",
          "[sensitivity][soft]") {
  DenseSolver<double> solver;
  ProblemDerivatives<double> dx;
  SECTION("the weight grows faster than the multiplier: valid for theta >= 0") {
    // d(mu_0) = 0.5 > 0 but dw = 1: mu_0 stays below w(theta) for theta > 0, and row 1 allows
    // only theta > 0. A constant-weight test would reject both sides.
    const auto sens = weak_upper_sensitivity(1.5, 1.0, solver, dx);
    REQUIRE(sens.info() == SensitivityStatus::weakly_active);
    CHECK(sens.row_flags()(0) == rmpc::qp::RowFlag::row_weakly_active);
    CHECK(sens.dy_ineq_dtheta()(0, 0) == Approx(0.5));
    // The forward difference of the solver's solution (the branch theta >= 0).
    const double h = 1e-6;
    DenseSolver<double> forward;
    REQUIRE(forward.compute(weak_upper_qp(h, 1.5, 1.0)).solve().status == Status::optimal);
    const VectorXd fd = (forward.result().z - solver.result().z) / h;
    CHECK((sens.dz_dtheta().col(0) - fd).cwiseAbs().maxCoeff() < 1e-8);
  }
  SECTION("the weight falls while the multiplier stays: no side is valid") {
    // d(mu_0) = 0 but dw = -1: mu_0 leaves its box for theta > 0, row 1 for theta < 0. A
    // constant-weight test would accept theta > 0 and report a wrong derivative.
    const auto sens = weak_upper_sensitivity(1.0, -1.0, solver, dx);
    CHECK(sens.info() == SensitivityStatus::licq_violated);
  }
}
