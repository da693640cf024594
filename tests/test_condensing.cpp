// Condensing (mpc/condensing.hpp): the dense QP in z = (u_0..u_{N-1}, slacks) that eliminates
// the states. Checked against a rollout of the model, which is what the QP must encode: the
// cost is exactly quadratic in z with the condensed H, G, g0; each row of C z - D s - d0 is the
// violation of the bound or general row it stands for (CondensedRowLayout's order); infinite
// bounds and zero L1 weights are inert rows; a quadratic soft weight becomes a slack variable.
#include "rmpc/mpc/condensing.hpp"
#include "rmpc/mpc/lq_mpc.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <random>

namespace {

using linear_2d::PaperModel;
using linear_2d::PaperMpc;
using Vec8 = Eigen::Matrix<double, 8, 1>;
using Data = rmpc::mpc::LqData<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic>;
using Eigen::MatrixXd;
using Eigen::VectorXd;

MatrixXd random_matrix(std::mt19937_64& rng, Eigen::Index rows, Eigen::Index cols) {
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  MatrixXd m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = u(rng);
  return m;
}

// nx = 3, nu = 2, nc = 1 with every cost and model term non-zero and finite bounds.
Data random_model(std::mt19937_64& rng) {
  Data d(3, 2, 1);
  d.A = random_matrix(rng, 3, 3);
  d.B = random_matrix(rng, 3, 2);
  d.b = random_matrix(rng, 3, 1);
  const MatrixXd LQ = random_matrix(rng, 3, 3), LR = random_matrix(rng, 2, 2);
  d.Q = LQ * LQ.transpose();
  d.Q(0, 1) += 0.3;  // not symmetric: condensing uses sym(Q)
  d.q = random_matrix(rng, 3, 1);
  d.R = LR * LR.transpose() + MatrixXd::Identity(2, 2);
  d.r = random_matrix(rng, 2, 1);
  d.P = 2.0 * LQ.transpose() * LQ;
  d.p = random_matrix(rng, 3, 1);
  d.u_lb << -0.7, -0.4;
  d.u_ub << 0.5, 0.9;
  d.x_lb << -1.0, -2.0, -3.0;
  d.x_ub << 1.5, 2.5, 3.5;
  d.E_x = random_matrix(rng, 1, 3);
  d.E_u = random_matrix(rng, 1, 2);
  d.e << 0.25;
  return d;
}

// The model's cost along the rollout from s under inputs z (no penalties), states into x.
double rollout_cost(const Data& d, Eigen::Index N, const VectorXd& s, const VectorXd& z,
                    MatrixXd& x) {
  const Eigen::Index nu = d.nu();
  x.resize(d.nx(), N + 1);
  x.col(0) = s;
  double J = 0;
  for (Eigen::Index k = 0; k < N; ++k) {
    const VectorXd u = z.segment(k * nu, nu);
    J += x.col(k).dot(d.Q * x.col(k)) + d.q.dot(x.col(k)) + u.dot(d.R * u) + d.r.dot(u);
    x.col(k + 1) = d.A * x.col(k) + d.B * u + d.b;
  }
  return J + x.col(N).dot(d.P * x.col(N)) + d.p.dot(x.col(N));
}

}  // namespace

TEST_CASE("condense: the cost is the rollout's, each row the violation it stands for",
          "[condensing]") {
  std::mt19937_64 rng(5);
  const Data d = random_model(rng);
  const Eigen::Index N = 4, nx = 3, nu = 2;
  rmpc::mpc::CondensedQp<double> qp;
  rmpc::mpc::condense(d, N, qp);
  const rmpc::mpc::CondensedRowLayout layout{nx, nu, N, 1, 0};
  REQUIRE(qp.H.rows() == N * nu);
  REQUIRE(qp.C.rows() == layout.rows());
  CHECK((qp.H - qp.H.transpose()).norm() <= 1e-14 * qp.H.norm());
  CHECK(qp.soft_weight.array().isInf().all());

  const VectorXd s = random_matrix(rng, nx, 1);
  // rollout - (1/2 z'Hz + (G s + g0)'z) is const(s): the same for every z.
  MatrixXd x;
  double first = 0;
  for (int trial = 0; trial < 4; ++trial) {
    const VectorXd z = 2.0 * random_matrix(rng, N * nu, 1);
    const double J = rollout_cost(d, N, s, z, x);
    const double quadratic = 0.5 * z.dot(qp.H * z) + (qp.G * s + qp.g0).dot(z);
    if (trial == 0) first = J - quadratic;
    CHECK(J - quadratic == Approx(first).epsilon(0).margin(1e-12 * (1 + std::abs(J))));

    const VectorXd v = qp.C * z - qp.D * s - qp.d0;
    for (Eigen::Index k = 0; k < N; ++k) {
      for (Eigen::Index i = 0; i < nu; ++i) {
        CHECK(v(layout.input_row(k, i, true)) ==
              Approx(z(k * nu + i) - d.u_ub(i)).epsilon(0).margin(1e-13));
        CHECK(v(layout.input_row(k, i, false)) ==
              Approx(d.u_lb(i) - z(k * nu + i)).epsilon(0).margin(1e-13));
      }
      const double general = (d.E_x * x.col(k) + d.E_u * z.segment(k * nu, nu))(0) - d.e(0);
      CHECK(v(layout.general_row(k, 0)) == Approx(general).epsilon(0).margin(1e-12));
      if (k == 0) continue;  // x_0 = s is no row
      for (Eigen::Index i = 0; i < nx; ++i) {
        CHECK(v(layout.state_row(k, i, true)) ==
              Approx(x(i, k) - d.x_ub(i)).epsilon(0).margin(1e-12));
        CHECK(v(layout.state_row(k, i, false)) ==
              Approx(d.x_lb(i) - x(i, k)).epsilon(0).margin(1e-12));
      }
    }
  }
}

TEST_CASE("condense: infinite bounds and zero L1 weights are inert, a quadratic weight a slack",
          "[condensing]") {
  std::mt19937_64 rng(6);
  Data d = random_model(rng);
  const Eigen::Index N = 3, nx = 3, nu = 2, n0 = N * nu;
  d.u_ub(1) = std::numeric_limits<double>::infinity();  // no row
  d.x_soft_weight(0) = 0.0;                             // exact L1 of weight 0: no penalty
  d.x_soft_weight(1) = 4.0;                             // exact L1: a soft row of the QP
  d.x_soft_weight(2) = 3.0;                             // with rho: a slack per stage 1..N-1
  d.x_soft_quadratic(2) = 0.5;
  REQUIRE(rmpc::mpc::count_slacks(d, N) == N - 1);
  rmpc::mpc::CondensedQp<double> qp;
  rmpc::mpc::condense(d, N, qp);
  const rmpc::mpc::CondensedRowLayout layout{nx, nu, N, 1, N - 1};
  REQUIRE(qp.H.rows() == n0 + N - 1);
  REQUIRE(qp.C.rows() == layout.rows());
  auto inert = [&](Eigen::Index r) {
    return qp.C.row(r).isZero(0) && qp.D.row(r).isZero(0) && qp.d0(r) == rmpc::mpc::inert_bound &&
           std::isinf(qp.soft_weight(r));
  };
  for (Eigen::Index k = 0; k < N; ++k) {
    CHECK(inert(layout.input_row(k, 1, true)));
    CHECK_FALSE(inert(layout.input_row(k, 1, false)));
  }
  for (Eigen::Index k = 1; k < N; ++k) {
    for (bool upper : {true, false}) {
      CHECK(inert(layout.state_row(k, 0, upper)));
      CHECK(qp.soft_weight(layout.state_row(k, 1, upper)) == 4.0);
      const Eigen::Index r2 = layout.state_row(k, 2, upper);
      CHECK(std::isinf(qp.soft_weight(r2)));  // hard row, relaxed by its slack
      CHECK(qp.C(r2, n0 + k - 1) == -1.0);
    }
    // Slack k-1: cost w eps + rho eps^2 (H_ee = 2 rho, g_e = w), row -eps <= 0, no coupling.
    const Eigen::Index e = n0 + k - 1;
    CHECK(qp.H(e, e) == 1.0);
    CHECK(qp.g0(e) == 3.0);
    CHECK(qp.H.row(e).head(n0).isZero(0));
    CHECK(qp.G.row(e).isZero(0));
    const Eigen::Index sr = layout.slack_row(k - 1);
    CHECK(qp.C(sr, e) == -1.0);
    CHECK(qp.C.row(sr).sum() == -1.0);
    CHECK(qp.d0(sr) == 0.0);
  }
}

TEST_CASE("Condensed QP cost and rows agree with a rollout of the model", "[condensing]") {
  PaperMpc mpc(PaperModel{});
  Vec8 theta = linear_2d::theta0();
  theta << 0.95, 0.3, 1.05, 0.12, 0.25, 0.01, -0.02, 0.03;
  mpc.set_parameters(theta);
  const Eigen::Vector2d s(0.3, -0.4);
  Eigen::Matrix<double, 10, 1> z1, z2;
  z1 << 0.1, -0.2, 0.3, 0.0, 0.5, -0.5, 0.2, 0.1, -0.1, 0.05;
  z2 << -0.3, 0.4, 0.1, 0.2, -0.1, 0.0, 0.3, -0.2, 0.6, -0.4;
  Eigen::Matrix<double, 2, 11> x1, x2;
  // rollout() includes the soft penalties; compare the smooth part via a difference of two
  // inputs with all soft rows inactive: use a state and inputs far from the bounds instead.
  const auto& pr = mpc.problem();
  const Eigen::Matrix<double, 10, 1> g = mpc.G() * s + mpc.g0();
  auto qp_cost = [&](const Eigen::Matrix<double, 10, 1>& z) {
    return 0.5 * z.dot(pr.H * z) + g.dot(z);
  };
  auto smooth_cost = [&](const Eigen::Matrix<double, 10, 1>& z, Eigen::Matrix<double, 2, 11>& x) {
    const double J = mpc.rollout(s, z, x);
    double pen = 0;
    for (int k = 0; k < 10; ++k)
      pen += rmpc::mpc::stage_penalty(mpc.data(), x.col(k), z.segment<1>(k));
    return J - pen;
  };
  // Quadratic cost: the difference of costs is independent of const(s).
  CHECK(std::abs((smooth_cost(z1, x1) - smooth_cost(z2, x2)) - (qp_cost(z1) - qp_cost(z2))) <
        1e-12);
  // Rows: C z - D s - d0 equals the stacked violations x_k - ub, lb - x_k (k = 1..9).
  const Eigen::Matrix<double, 56, 1> v = pr.C * z1 - mpc.D() * s - mpc.d0();
  for (int k = 1; k < 10; ++k) {
    const int row = 20 + 4 * (k - 1);
    CHECK((v.segment<2>(row) - (x1.col(k) - mpc.data().x_ub)).norm() < 1e-13);
    CHECK((v.segment<2>(row + 2) - (mpc.data().x_lb - x1.col(k))).norm() < 1e-13);
  }
  CHECK(std::abs(v(0) - (z1(0) - 1.0)) < 1e-15);
  CHECK(std::abs(v(1) - (-z1(0) - 1.0)) < 1e-15);
}
