#include "rmpc_catch.hpp"
#include "support/solved_z.hpp"
#include "support/random_qp.hpp"

#include "rmpc/qp/sensitivity.hpp"

#include <random>
#include <vector>

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
using rmpc::qp::DenseSolver;
using rmpc::qp::Problem;
using rmpc::qp::ProblemDerivatives;
using rmpc::qp::RowState;
using rmpc::qp::Sensitivity;
using rmpc::qp::SensitivitySettings;
using rmpc::qp::SensitivityStatus;
using rmpc::qp::Status;
using rmpc::qp::WeakRowChoice;
using rmpc::testing::random_matrix;

namespace {

// X(theta) = X0 + sum_i theta_i X1_i + 1/2 sum_ij theta_i theta_j X2_ij, every datum.
struct ParametricQp {
  Problem<double> base;
  std::vector<Problem<double>> first;                // np
  std::vector<std::vector<Problem<double>>> second;  // np x np, symmetric

  static Problem<double> perturbation(std::mt19937_64& rng, const Problem<double>& like,
                                      double scale) {
    Problem<double> d(like.H.rows(), like.A.rows(), like.C.rows());
    const MatrixXd h = random_matrix(rng, like.H.rows(), like.H.rows());
    d.H = 0.1 * scale * (h + h.transpose()) / 2;  // keeps H(theta) positive definite
    d.g = scale * random_matrix(rng, like.g.size(), 1);
    d.A = scale * random_matrix(rng, like.A.rows(), like.A.cols());
    d.b = scale * random_matrix(rng, like.b.size(), 1);
    d.C = scale * random_matrix(rng, like.C.rows(), like.C.cols());
    d.d = scale * random_matrix(rng, like.d.size(), 1);
    return d;
  }

  ParametricQp(std::mt19937_64& rng, Index n, Index p, Index m, Index np)
      : base(rmpc::testing::random_qp(rng, n, p, m)) {
    for (Index i = 0; i < np; ++i) first.push_back(perturbation(rng, base, 0.3));
    second.assign(size_t(np), std::vector<Problem<double>>(size_t(np)));
    for (Index i = 0; i < np; ++i)
      for (Index j = 0; j <= i; ++j)
        second[size_t(i)][size_t(j)] = second[size_t(j)][size_t(i)] = perturbation(rng, base, 0.1);
  }
  Index np() const { return Index(first.size()); }

  template <typename F>
  static void each(Problem<double>& out, const Problem<double>& in, F f) {
    f(out.H, in.H), f(out.g, in.g), f(out.A, in.A), f(out.b, in.b), f(out.C, in.C), f(out.d, in.d);
  }

  Problem<double> at(const VectorXd& th) const {
    Problem<double> pr = base;
    for (Index i = 0; i < np(); ++i) {
      each(pr, first[size_t(i)], [&](auto& o, const auto& x) { o += th(i) * x; });
      for (Index j = 0; j < np(); ++j)
        each(pr, second[size_t(i)][size_t(j)],
             [&](auto& o, const auto& x) { o += 0.5 * th(i) * th(j) * x; });
    }
    return pr;
  }

  ProblemDerivatives<double> derivatives(const VectorXd& th) const {
    ProblemDerivatives<double> dx;
    const Index n = base.H.rows(), p = base.A.rows(), m = base.C.rows();
    dx.resize(np(), n, p, m, true);
    for (Index i = 0; i < np(); ++i) {
      Problem<double> di = first[size_t(i)];
      for (Index j = 0; j < np(); ++j)
        each(di, second[size_t(i)][size_t(j)], [&](auto& o, const auto& x) { o += th(j) * x; });
      dx.dH[size_t(i)] = di.H, dx.dg[size_t(i)] = di.g, dx.dA[size_t(i)] = di.A;
      dx.db[size_t(i)] = di.b, dx.dC[size_t(i)] = di.C, dx.dd[size_t(i)] = di.d;
      for (Index j = 0; j < np(); ++j) {
        const auto& s = second[size_t(i)][size_t(j)];
        const size_t ij = size_t(i * np() + j);
        dx.d2H[ij] = s.H, dx.d2g[ij] = s.g, dx.d2A[ij] = s.A, dx.d2b[ij] = s.b, dx.d2C[ij] = s.C,
        dx.d2d[ij] = s.d;
      }
    }
    return dx;
  }
};

}  // namespace

TEST_CASE("first and second order match central differences with active and saturated rows",
          "[sensitivity]") {
  std::mt19937_64 rng(11);
  int checked = 0;
  for (int trial = 0; trial < 60; ++trial) {
    const Index n = 3 + trial % 6, p = trial % 4 == 0 ? 1 : 0, m = 3 * n, np = 1 + trial % 4;
    ParametricQp pq(rng, n, p, m, np);
    if (trial % 2 == 1)
      for (Index i = 0; i < m; i += 2) pq.base.soft_weight(i) = 1.0;
    const VectorXd theta = 0.2 * random_matrix(rng, np, 1);
    DenseSolver<double> solver;
    const auto& res = solver.compute(pq.at(theta)).solve();
    REQUIRE(res.status == Status::optimal);
    const auto dx = pq.derivatives(theta);
    Sensitivity<double> sens;
    sens.compute(solver, dx);
    if (sens.info() != SensitivityStatus::ok) continue;  // a random weakly active row: skip
    ++checked;

    const double h1 = 1e-6, h2 = 1e-5;
    for (Index i = 0; i < np; ++i) {
      VectorXd tp = theta, tm = theta;
      tp(i) += h1, tm(i) -= h1;
      const VectorXd fd =
          (rmpc::testing::solved_z(pq.at(tp)) - rmpc::testing::solved_z(pq.at(tm))) / (2 * h1);
      CHECK((sens.dz_dtheta().col(i) - fd).norm() <= 1e-6 * (1 + fd.norm()));

      // Second order: central differences of the first-order sensitivities.
      tp = theta, tm = theta;
      tp(i) += h2, tm(i) -= h2;
      Sensitivity<double> sp, sm;
      DenseSolver<double> solver_p, solver_m;
      solver_p.compute(pq.at(tp)).solve();
      solver_m.compute(pq.at(tm)).solve();
      const auto dxp = pq.derivatives(tp), dxm = pq.derivatives(tm);
      sp.compute(solver_p, dxp);
      sm.compute(solver_m, dxm);
      const MatrixXd fd2 = (sp.dz_dtheta() - sm.dz_dtheta()) / (2 * h2);
      for (Index j = 0; j < np; ++j)
        CHECK((sens.d2z_dtheta2(j, i) - fd2.col(j)).norm() <= 1e-5 * (1 + fd2.col(j).norm()));
    }

    // The adjoint functional Hessian equals e' d2z/dtheta2 and is symmetric.
    const VectorXd e = random_matrix(rng, n, 1);
    MatrixXd fh(np, np);
    sens.functional_hessian(e, fh);
    for (Index i = 0; i < np; ++i)
      for (Index j = 0; j < np; ++j)
        CHECK(std::abs(fh(i, j) - e.dot(sens.d2z_dtheta2(i, j))) <=
              1e-10 * (1 + std::abs(fh(i, j))));
    CHECK((fh - fh.transpose()).norm() <= 1e-12 * (1 + fh.norm()));
  }
  CHECK(checked >= 40);
}

TEST_CASE("multiplier derivatives match central differences", "[sensitivity]") {
  std::mt19937_64 rng(12);
  ParametricQp pq(rng, 5, 1, 12, 3);
  const VectorXd theta = VectorXd::Zero(3);
  DenseSolver<double> solver;
  solver.compute(pq.at(theta)).solve();
  const auto dx = pq.derivatives(theta);
  Sensitivity<double> sens;
  sens.compute(solver, dx);
  REQUIRE(sens.info() == SensitivityStatus::ok);
  REQUIRE(solver.result().num_active() >= 1);
  const double h = 1e-6;
  for (Index i = 0; i < 3; ++i) {
    VectorXd tp = theta, tm = theta;
    tp(i) += h, tm(i) -= h;
    DenseSolver<double> a, b;
    const VectorXd yp = a.compute(pq.at(tp)).solve().y_ineq,
                   ym = b.compute(pq.at(tm)).solve().y_ineq;
    const VectorXd ep = a.result().y_eq, em = b.result().y_eq;
    CHECK((sens.dy_ineq_dtheta().col(i) - (yp - ym) / (2 * h)).norm() <= 1e-6 * (1 + yp.norm()));
    CHECK((sens.dy_eq_dtheta().col(i) - (ep - em) / (2 * h)).norm() <= 1e-6 * (1 + ep.norm()));
  }
}

TEST_CASE("absent derivative blocks cost nothing and give the same answer", "[sensitivity]") {
  std::mt19937_64 rng(13);
  ParametricQp pq(rng, 6, 0, 15, 2);
  for (auto& f : pq.first) f.H.setZero(), f.C.setZero();
  for (auto& row : pq.second)
    for (auto& s : row)
      s.H.setZero(), s.C.setZero(), s.g.setZero(), s.d.setZero(), s.A.setZero(), s.b.setZero();
  const VectorXd theta = VectorXd::Zero(2);
  DenseSolver<double> solver;
  solver.compute(pq.at(theta)).solve();
  auto full = pq.derivatives(theta);
  auto sparse = full;
  sparse.dH.clear(), sparse.dC.clear(), sparse.dA.clear(), sparse.db.clear();
  sparse.d2H.clear(), sparse.d2g.clear(), sparse.d2A.clear(), sparse.d2b.clear(),
      sparse.d2C.clear(), sparse.d2d.clear();
  Sensitivity<double> a, b;
  a.compute(solver, full);
  b.compute(solver, sparse);
  CHECK((a.dz_dtheta() - b.dz_dtheta()).norm() <= 1e-14);
  CHECK((a.d2z_dtheta2() - b.d2z_dtheta2()).norm() <= 1e-14);
}

TEST_CASE("weakly active rows are reported with one-sided derivatives",
          "[sensitivity][degenerate]") {
  // min 1/2|z|^2 - theta z1  s.t.  z1 <= 1. At theta = 1 the row is weakly active:
  // z1 = min(theta, 1), so dz1/dtheta = 1 from the left (row dropped), 0 from the right.
  Problem<double> pr(2, 0, 1);
  pr.H.setIdentity();
  pr.g << -1, 0;
  pr.C << 1, 0;
  pr.d << 1;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(pr).solve().status == Status::optimal);
  ProblemDerivatives<double> dx;
  dx.num_parameters = 1;
  dx.dg = {Eigen::Vector2d(-1, 0)};
  Sensitivity<double> sens;
  SensitivitySettings<double> settings;
  settings.weak_rows = WeakRowChoice::keep_active;
  sens.compute(solver, dx, settings);
  CHECK(sens.info() == SensitivityStatus::weakly_active);
  CHECK(sens.row_flags()(0) == rmpc::qp::row_weakly_active);
  CHECK(sens.dz_dtheta()(0, 0) == Approx(0.0).margin(1e-14));
  settings.weak_rows = WeakRowChoice::drop;
  sens.compute(solver, dx, settings);
  CHECK(sens.info() == SensitivityStatus::weakly_active);
  CHECK(sens.dz_dtheta()(0, 0) == Approx(1.0).epsilon(1e-14));

  // The same at a soft row's upper multiplier bound: g = -(1 + w) puts mu exactly at w.
  pr.soft_weight << 2.0;
  pr.g << -3, 0;
  REQUIRE(solver.compute(pr).solve().status == Status::optimal);
  settings.weak_rows = WeakRowChoice::keep_active;
  sens.compute(solver, dx, settings);
  CHECK(sens.info() == SensitivityStatus::weakly_active);
  CHECK(sens.dz_dtheta()(0, 0) == Approx(0.0).margin(1e-14));
  settings.weak_rows = WeakRowChoice::drop;  // saturated branch: z1 = -g1 - w moves with theta
  sens.compute(solver, dx, settings);
  CHECK(sens.dz_dtheta()(0, 0) == Approx(1.0).epsilon(1e-14));
}

TEST_CASE("LICQ violation and unsolved problems are reported", "[sensitivity][degenerate]") {
  Problem<double> pr(3, 2, 0);
  pr.H.setIdentity();
  pr.A << 1, 1, 0, 2, 2, 0;
  pr.b << 1, 2;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(pr).solve().status == Status::optimal);
  ProblemDerivatives<double> dx;
  dx.num_parameters = 1;
  dx.dg = {Eigen::Vector3d(1, 0, 0)};
  Sensitivity<double> sens;
  sens.compute(solver, dx);
  CHECK(sens.info() == SensitivityStatus::licq_violated);

  pr.resize(1, 0, 2);
  pr.H << 1;
  pr.C << 1, -1;
  pr.d << 0, -1;
  REQUIRE(solver.compute(pr).solve().status == Status::infeasible);
  sens.compute(solver, dx);
  CHECK(sens.info() == SensitivityStatus::not_solved);
}

TEST_CASE("a Sensitivity is reusable after a move and after not_solved", "[sensitivity]") {
  // 1/2 |z|^2 - 1'z with 1'z <= 1 active and z_0 >= -5 inactive; then the same sizes with
  // z_0 <= 0 and z_0 >= 1: infeasible.
  Problem<double> pr(3, 0, 2);
  pr.H.setIdentity();
  pr.g.setConstant(-1);
  pr.C << 1, 1, 1, -1, 0, 0;
  pr.d << 1, 5;
  DenseSolver<double> solver;
  REQUIRE(solver.compute(pr).solve().status == Status::optimal);
  ProblemDerivatives<double> dx;
  dx.resize(2, 3, 0, 2, false);
  dx.dg[0] << 1, 0, 0;
  dx.dd[1] << 1, 0;
  Sensitivity<double> fresh, a;
  fresh.compute(solver, dx);
  REQUIRE(fresh.info() == SensitivityStatus::ok);
  REQUIRE(fresh.working_set_size() == 1);
  CHECK((fresh.dz_dtheta().col(0) - Eigen::Vector3d(-2, 1, 1) / 3).norm() <= 1e-14);

  a.compute(solver, dx);
  Sensitivity<double> b(std::move(a));
  a.compute(solver, dx);  // a moved-from object is valid: compute() sizes what it needs
  CHECK(a.info() == SensitivityStatus::ok);
  CHECK(a.dz_dtheta() == fresh.dz_dtheta());
  CHECK(b.dz_dtheta() == fresh.dz_dtheta());
  b = std::move(a);
  a.compute(solver, dx);
  CHECK(a.dz_dtheta() == fresh.dz_dtheta());

  pr.C << 1, 0, 0, -1, 0, 0;
  pr.d << 0, -1;
  REQUIRE(solver.compute(pr).solve().status == Status::infeasible);
  a.compute(solver, dx);
  CHECK(a.info() == SensitivityStatus::not_solved);
  CHECK(a.working_set_size() == 0);  // nothing of the earlier solve is reported
  CHECK(a.dz_dtheta().isZero(0));
}
