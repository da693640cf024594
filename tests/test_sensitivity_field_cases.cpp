// Field cases of issue #15 at the QP level (sensitivity.hpp): degenerate active sets with
// dependent rows (item 5: lb = ub pairs, duplicated rows, equalities pinning a bound) checked
// against finite differences from both sides, and the argument checks of Sensitivity (item 6).
#include "rmpc_catch.hpp"

#include "rmpc/qp/sensitivity.hpp"

#include <Eigen/Core>

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

using Eigen::MatrixXd;
using Eigen::VectorXd;
using rmpc::qp::DenseSolver;
using rmpc::qp::Problem;
using rmpc::qp::ProblemDerivatives;
using rmpc::qp::Sensitivity;
using rmpc::qp::SensitivityStatus;
using rmpc::qp::Status;

namespace {

/// One-parameter QP family: data(s) = base + s * slope in g, b and d (H, A, C fixed).
struct Family {
  Problem<double> base;
  VectorXd dg, db, dd;

  Problem<double> at(double s) const {
    Problem<double> p = base;
    p.g += s * dg;
    p.b += s * db;
    p.d += s * dd;
    return p;
  }
  ProblemDerivatives<double> derivatives() const {
    ProblemDerivatives<double> dx;
    dx.num_parameters = 1;
    dx.dg = {dg};
    if (db.size() > 0) dx.db = {db};
    dx.dd = {dd};
    return dx;
  }
  double z0(double s) const {
    DenseSolver<double> solver;
    const auto& r = solver.compute(at(s)).solve();
    REQUIRE(r.status == Status::optimal);
    return r.z(0);
  }
};

Family scalar_family(double g, int rows) {
  Family f;
  f.base = Problem<double>(1, 0, rows);
  f.base.H << 1.0;
  f.base.g << g;
  f.dg = VectorXd::Zero(1);
  f.db = VectorXd::Zero(0);
  f.dd = VectorXd::Zero(rows);
  return f;
}

/// dz/ds at s = 0 with its status, and the one-sided finite differences from both sides.
struct Check {
  SensitivityStatus status;
  double dz, fd_right, fd_left, fd_central;
};

Check check(const Family& f, double h = 1e-6) {
  DenseSolver<double> solver;
  REQUIRE(solver.compute(f.at(0.0)).solve().status == Status::optimal);
  const auto dx = f.derivatives();
  Sensitivity<double> sens;
  sens.compute(solver, dx);
  const double z0 = f.z0(0.0), zp = f.z0(h), zm = f.z0(-h);
  return {sens.info(), sens.dz_dtheta()(0, 0), (zp - z0) / h, (z0 - zm) / h, (zp - zm) / (2 * h)};
}

template <class S, class D, class = void>
struct can_compute : std::false_type {};
template <class S, class D>
struct can_compute<S, D,
                   std::void_t<decltype(std::declval<S&>().compute(
                       std::declval<const typename S::Solver&>(), std::declval<D>()))>>
    : std::true_type {};

}  // namespace

TEST_CASE("lb = ub pair at zero slack and zero multiplier: dz/ds = 1 from both sides",
          "[sensitivity][field][degenerate]") {
  // H = [1], g = [0], z <= s and -z <= -s at s = 0: both rows at zero slack, both multipliers 0.
  Family f = scalar_family(0.0, 2);
  f.base.C << 1.0, -1.0;
  f.base.d << 0.0, 0.0;
  f.dd << 1.0, -1.0;
  const Check c = check(f);
  CHECK(c.status == SensitivityStatus::ok);
  CHECK(c.dz == Approx(1.0).epsilon(1e-12));
  CHECK(c.fd_right == Approx(1.0).epsilon(1e-8));
  CHECK(c.fd_left == Approx(1.0).epsilon(1e-8));
  CHECK(std::abs(c.fd_central - c.dz) < 1e-8);
}

TEST_CASE("lb = ub pair with a positive multiplier on one side is an equality, not weakly active",
          "[sensitivity][field][degenerate]") {
  for (double g : {-1.0, 1.0}) {
    INFO("g = " << g);
    Family f = scalar_family(g, 2);
    f.base.C << 1.0, -2.0;  // -2z <= -2s: the same equality, scaled
    f.base.d << 0.0, 0.0;
    f.dd << 1.0, -2.0;
    const Check c = check(f);
    CHECK(c.status == SensitivityStatus::ok);
    CHECK(c.dz == Approx(1.0).epsilon(1e-12));
    CHECK(c.fd_right == Approx(1.0).epsilon(1e-8));
    CHECK(c.fd_left == Approx(1.0).epsilon(1e-8));
  }
}

TEST_CASE("lb = ub pair whose bounds move apart is licq_violated, never a wrong value",
          "[sensitivity][field][degenerate]") {
  // z <= s, -z <= 0 at s = 0: infeasible for s < 0, z = 0 for s > 0: no two-sided derivative.
  Family f = scalar_family(0.0, 2);
  f.base.C << 1.0, -1.0;
  f.base.d << 0.0, 0.0;
  f.dd << 1.0, 0.0;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(f.at(0.0)).solve().status == Status::optimal);
  const auto dx = f.derivatives();
  Sensitivity<double> sens;
  sens.compute(solver, dx);
  CHECK(sens.info() == SensitivityStatus::licq_violated);
}

TEST_CASE("duplicated row at zero slack: dz/ds from the reduced system, status ok",
          "[sensitivity][field][degenerate]") {
  // min 1/2 z^2 - z  s.t.  z <= s twice (and a scaled copy 3z <= 3s): z = s near s = 0.
  Family f = scalar_family(-1.0, 3);
  f.base.C << 1.0, 1.0, 3.0;
  f.base.d << 0.0, 0.0, 0.0;
  f.dd << 1.0, 1.0, 3.0;
  const Check c = check(f);
  CHECK(c.status == SensitivityStatus::ok);
  CHECK(c.dz == Approx(1.0).epsilon(1e-12));
  CHECK(c.fd_right == Approx(1.0).epsilon(1e-8));
  CHECK(c.fd_left == Approx(1.0).epsilon(1e-8));
}

TEST_CASE("duplicated rows whose right-hand sides move differently are licq_violated",
          "[sensitivity][field][degenerate]") {
  // z <= s and z <= 2s at s = 0 with z* = 1 unconstrained: z = min(s, 2s): kink, not weakly active.
  Family f = scalar_family(-1.0, 2);
  f.base.C << 1.0, 1.0;
  f.base.d << 0.0, 0.0;
  f.dd << 1.0, 2.0;
  const Check c = check(f);
  CHECK(c.fd_right == Approx(1.0).epsilon(1e-8));
  CHECK(c.fd_left == Approx(2.0).epsilon(1e-8));
  CHECK(c.status == SensitivityStatus::licq_violated);
}

TEST_CASE("equality pinning a bound: the bound is dependent, dz/ds from the equality",
          "[sensitivity][field][degenerate]") {
  // min 1/2 z^2 - z  s.t.  z = s,  z <= s: z = s.
  Family f = scalar_family(-1.0, 1);
  f.base = Problem<double>(1, 1, 1);
  f.base.H << 1.0;
  f.base.g << -1.0;
  f.base.A << 1.0;
  f.base.b << 0.0;
  f.base.C << 1.0;
  f.base.d << 0.0;
  f.db = VectorXd::Ones(1);
  f.dd = VectorXd::Ones(1);
  const Check c = check(f);
  CHECK(c.status == SensitivityStatus::ok);
  CHECK(c.dz == Approx(1.0).epsilon(1e-12));
  CHECK(c.fd_right == Approx(1.0).epsilon(1e-8));
  CHECK(c.fd_left == Approx(1.0).epsilon(1e-8));

  // z = s, z <= 2s: infeasible for s < 0, so no two-sided derivative: licq_violated.
  f.dd << 2.0;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(f.at(0.0)).solve().status == Status::optimal);
  const auto dx = f.derivatives();
  Sensitivity<double> sens;
  sens.compute(solver, dx);
  CHECK(sens.info() == SensitivityStatus::licq_violated);
}

TEST_CASE("a single weakly active row still gives a one-sided derivative",
          "[sensitivity][field][degenerate]") {
  // z <= s with z* = 0 at s = 0: z = min(s, 0): 1 from the left, 0 from the right.
  Family f = scalar_family(0.0, 1);
  f.base.C << 1.0;
  f.base.d << 0.0;
  f.dd << 1.0;
  const Check c = check(f);
  CHECK(c.status == SensitivityStatus::weakly_active);
  CHECK((std::abs(c.dz - c.fd_right) < 1e-8 || std::abs(c.dz - c.fd_left) < 1e-8));
}

TEST_CASE("Sensitivity rejects a temporary ProblemDerivatives at compile time",
          "[sensitivity][field][ownership]") {
  using Sens = Sensitivity<double>;
  STATIC_REQUIRE(can_compute<Sens, const ProblemDerivatives<double>&>::value);
  STATIC_REQUIRE(can_compute<Sens, ProblemDerivatives<double>&>::value);
  STATIC_REQUIRE_FALSE(can_compute<Sens, ProblemDerivatives<double>&&>::value);
  STATIC_REQUIRE_FALSE(can_compute<Sens, ProblemDerivatives<double>>::value);
}

TEST_CASE("Sensitivity checks the sizes of dX and names the argument",
          "[sensitivity][field][ownership]") {
  Problem<double> pr(2, 0, 1);
  pr.H.setIdentity();
  pr.g << -1, 0;
  pr.C << 1, 0;
  pr.d << 0.5;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(pr).solve().status == Status::optimal);
  Sensitivity<double> sens;
  auto message = [&](const ProblemDerivatives<double>& dx) {
    try {
      sens.compute(solver, dx);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no throw");
  };
  ProblemDerivatives<double> dx;
  dx.resize(2, 2, 0, 1, false);
  REQUIRE(message(dx) == "no throw");

  ProblemDerivatives<double> more = dx;
  more.num_parameters = 3;  // vectors hold 2
  CHECK(message(more).find("dX.dH") != std::string::npos);
  CHECK(message(more).find("num_parameters = 3") != std::string::npos);

  ProblemDerivatives<double> short_dg = dx;
  short_dg.dg[1] = VectorXd::Zero(1);  // n - 1 entries
  CHECK(message(short_dg).find("dX.dg[1] is 1x1, expected n x 1 = 2x1") != std::string::npos);

  ProblemDerivatives<double> bad_dd = dx;
  bad_dd.dd[0] = VectorXd::Zero(3);
  CHECK(message(bad_dd).find("dX.dd[0]") != std::string::npos);

  ProblemDerivatives<double> bad_second = dx;
  bad_second.d2g = {VectorXd::Zero(2)};  // expected 4 elements
  CHECK(message(bad_second).find("dX.d2g has 1 elements") != std::string::npos);

  ProblemDerivatives<double> negative = dx;
  negative.num_parameters = -1;
  CHECK(message(negative).find("num_parameters") != std::string::npos);

  // Fixed NP: dX.num_parameters must agree.
  Sensitivity<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic, 3> sens3;
  CHECK_THROWS_AS(sens3.compute(solver, dx), std::invalid_argument);

  // functional_hessian checks e and out.
  sens.compute(solver, dx);
  MatrixXd out(2, 2);
  CHECK_THROWS_AS(sens.functional_hessian(VectorXd::Zero(1), out), std::invalid_argument);
  MatrixXd small(1, 2);
  CHECK_THROWS_AS(sens.functional_hessian(VectorXd::Zero(2), small), std::invalid_argument);
  CHECK_NOTHROW(sens.functional_hessian(VectorXd::Unit(2, 0), out));
}

namespace {

// Fuzz input duplicate_equality_ill_conditioned_H: H = 3.17 [1 1 1 1; 1 2 2 2; 1 2 2 2;
// 1 2 2 2] + 1e-10 I (condition 2e11), the equality c 1'z = c written twice, g and every
// datum's derivative along c = 1.78125. The exact solution (rational arithmetic) is
// z = dz/ds = (1, 1.05e-11, 1.05e-11, 1.05e-11): the problem is homogeneous in c.
Family duplicate_equality_ill_conditioned_h() {
  const double a = 3.1728515625, b2 = 6.345703125, e1 = 3.1728515626, e2 = 6.3457031251,
               c = 1.78125;
  Family f;
  f.base = Problem<double>(4, 2, 0);
  f.base.H << e1, a, a, a, a, e2, b2, b2, a, b2, e2, b2, a, b2, b2, e2;
  f.base.g = VectorXd::Constant(4, c);
  f.base.A = MatrixXd::Constant(2, 4, c);
  f.base.b = VectorXd::Constant(2, c);
  f.dg = VectorXd::Constant(4, c);
  f.db = VectorXd::Constant(2, c);
  f.dd = VectorXd::Zero(0);
  return f;
}

}  // namespace

TEST_CASE(
    "fuzz: a duplicated equality under an ill-conditioned H is never certified as a derivative",
    "[sensitivity][field][fuzz]") {
  // The copy's tail in the solver's dependency test is round-off of eps cond(L) (1e-10 of the
  // test's scale, above its threshold), so both copies enter the working set; the solve itself
  // is backward stable (z is right to eps cond(H)). The KKT derivative system is then
  // numerically singular: dz came back as (1, 0.566, 0.566, -1.13) under `ok`. The first-order
  // residual certificate now refuses it (2e9 eps of the data's scale): singular_kkt, zeros.
  // (Making the solver's dependency test relative to the LARGEST scale of J instead declared
  // truly independent rows dependent under cond(L) = 1e6 and made a feasible QP "infeasible":
  // fuzz input dependent_rows_ill_conditioned_H_not_infeasible.)
  const Family f = duplicate_equality_ill_conditioned_h();
  DenseSolver<double> solver;
  const auto& r = solver.compute(f.at(0.0)).solve();
  REQUIRE(r.status == Status::optimal);
  CHECK((r.z - Eigen::Vector4d(1.0, 1.05e-11, 1.05e-11, 1.05e-11)).cwiseAbs().maxCoeff() <
        1e-5);  // eps cond(H) |z|
  const auto dx = f.derivatives();
  Sensitivity<double> sens;
  sens.compute(solver, dx);
  CHECK(sens.info() != SensitivityStatus::ok);
  CHECK(sens.info() != SensitivityStatus::weakly_active);
  if (solver.working_set_size() == 2) {
    CHECK(sens.info() == SensitivityStatus::singular_kkt);
    CHECK(sens.dz_dtheta().cwiseAbs().maxCoeff() == 0.0);
  }

  // With the copy written once, the same derivative is `ok` and right to the same accuracy.
  Family single = f;
  single.base = Problem<double>(4, 1, 0);
  single.base.H = f.base.H;
  single.base.g = f.base.g;
  single.base.A = f.base.A.topRows(1);
  single.base.b = f.base.b.head(1);
  single.db = f.db.head(1);
  DenseSolver<double> one;
  REQUIRE(one.compute(single.at(0.0)).solve().status == Status::optimal);
  const auto dx1 = single.derivatives();
  sens.compute(one, dx1);
  CHECK(sens.info() == SensitivityStatus::ok);
  CHECK((sens.dz_dtheta().col(0) - Eigen::Vector4d(1.0, 1.05e-11, 1.05e-11, 1.05e-11))
            .cwiseAbs()
            .maxCoeff() < 1e-5);
}
