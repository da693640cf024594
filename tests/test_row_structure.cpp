// qp::detail::RowStructure: bounds and mirrored rows of C are recognised, the product C z it
// forms equals the full one (exactly for bounds and mirrors), and a solver whose rows are all
// bounds, mirrors and duplicates returns the KKT point of the problem as written.
#include "rmpc_catch.hpp"
#include "support/random_qp.hpp"

#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/detail/row_structure.hpp"

#include <Eigen/Dense>

#include <random>

namespace {
using Eigen::MatrixXd;
using Eigen::VectorXd;
using Structure = rmpc::qp::detail::RowStructure<double, Eigen::Dynamic, Eigen::Dynamic>;

// Rows: 0: 2 z_1 (bound), 1: c (dense), 2: -c (mirror of 1), 3: -z_3 (bound), 4: c (duplicate
// of 1), 5: e (dense), 6: -e (mirror of 5), 7: 0.5 c (a multiple: dense, not shared).
MatrixXd structured_rows(std::mt19937_64& rng, Eigen::Index n) {
  std::normal_distribution<double> nd;
  VectorXd c(n), e(n);
  for (Eigen::Index j = 0; j < n; ++j) c(j) = nd(rng), e(j) = nd(rng);
  MatrixXd C = MatrixXd::Zero(8, n);
  C(0, 1) = 2.0;
  C.row(1) = c.transpose();
  C.row(2) = -c.transpose();
  C(3, 3) = -1.0;
  C.row(4) = c.transpose();
  C.row(5) = e.transpose();
  C.row(6) = -e.transpose();
  C.row(7) = 0.5 * c.transpose();
  return C;
}
}  // namespace

TEST_CASE("row structure: bounds, mirrors and duplicates share one product", "[qp][rows]") {
  std::mt19937_64 rng(5);
  const MatrixXd C = structured_rows(rng, 6);
  Structure s;
  s.analyze(C);
  CHECK(s.is_bound(0));
  CHECK(s.variable(0) == 1);
  CHECK(s.coefficient(0) == 2.0);
  CHECK(s.is_bound(3));
  CHECK(s.variable(3) == 3);
  CHECK(s.coefficient(3) == -1.0);
  for (int i : {1, 2, 4, 5, 6, 7}) CHECK_FALSE(s.is_bound(i));
  CHECK(s.coefficient(2) == -s.coefficient(1));
  CHECK(s.coefficient(4) == s.coefficient(1));
  CHECK(s.coefficient(6) == -s.coefficient(5));
  CHECK(s.num_dense_rows() == 3);  // c, e, 0.5 c

  std::normal_distribution<double> nd;
  VectorXd z(6);
  for (Eigen::Index j = 0; j < 6; ++j) z(j) = nd(rng);
  VectorXd cz(8);
  s.multiply(z, cz);
  const VectorXd full = C * z;
  CHECK((cz - full).cwiseAbs().maxCoeff() <= 1e-14 * (1.0 + full.cwiseAbs().maxCoeff()));
  CHECK(cz(0) == 2.0 * z(1));  // exact: the dropped terms are zeros
  CHECK(cz(3) == -z(3));
  CHECK(cz(2) == -cz(1));  // exact: negation
  CHECK(cz(4) == cz(1));
  CHECK(cz(6) == -cz(5));
}

TEST_CASE("row structure: a solver on bound, two-sided and duplicated rows meets KKT",
          "[qp][rows]") {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> nd;
  for (int trial = 0; trial < 50; ++trial) {
    const Eigen::Index n = 8;
    rmpc::qp::Problem<double> pr = rmpc::testing::random_qp(rng, n, 0, 0);
    // -1 <= z <= 1 as 2n bound rows, l <= C2 z <= u as mirrored pairs, one duplicate.
    const MatrixXd C2 = rmpc::testing::random_matrix(rng, 5, n);
    MatrixXd C(2 * n + 11, n);
    C << MatrixXd::Identity(n, n), -MatrixXd::Identity(n, n), C2, -C2, C2.row(0);
    VectorXd d(C.rows());
    d.head(2 * n).setOnes();
    for (Eigen::Index i = 0; i < 5; ++i) {
      const double mid = 0.3 * nd(rng), half = 0.2 + 0.1 * std::abs(nd(rng));
      d(2 * n + i) = mid + half;
      d(2 * n + 5 + i) = -(mid - half);
    }
    d(2 * n + 10) = d(2 * n);
    pr.C = C;
    pr.d = d;
    pr.soft_weight.setConstant(C.rows(), std::numeric_limits<double>::infinity());
    pr.g *= 5.0;
    rmpc::qp::DenseSolver<double> solver;
    const auto& res = solver.compute(pr).solve();
    CAPTURE(trial);
    REQUIRE(res.status == rmpc::qp::Status::optimal);
    CHECK(rmpc::testing::kkt_error(pr, res.z, res.y_eq, res.y_ineq) <= 1e-10);
    // Warm start from the answer: the same point.
    const auto states = res.row_state;
    const VectorXd z = res.z;
    const auto& warm = solver.solve(states);
    REQUIRE(warm.status == rmpc::qp::Status::optimal);
    CHECK((warm.z - z).cwiseAbs().maxCoeff() <= 1e-12 * (1.0 + z.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("row structure: a staircase of rows is multiplied by panels, values unchanged",
          "[qp][rows]") {
  // Rows ending at every column (a condensed MPC's state rows: x_k depends on u_0 .. u_{k-1}),
  // in scrambled order, with mirrors, a zero row and bounds: the panel product skips the zero
  // blocks and must give every row's value to round-off, bounds and mirrors exactly.
  std::mt19937_64 rng(11);
  std::normal_distribution<double> nd;
  for (const Eigen::Index n : {Eigen::Index(5), Eigen::Index(16), Eigen::Index(37)}) {
    CAPTURE(n);
    const Eigen::Index dense = 2 * n;
    MatrixXd C = MatrixXd::Zero(2 * dense + 3, n);
    for (Eigen::Index r = 0; r < dense; ++r) {
      const Eigen::Index end = 1 + (r * 7) % n;  // last nonzero column end - 1, scrambled
      for (Eigen::Index j = 0; j < end; ++j) C(r, j) = nd(rng);
      if (end == 1) C(r, n - 1) = 1.0;  // not a bound: two nonzeros
      C.row(dense + r) = -C.row(r);
    }
    C(2 * dense, n / 2) = 3.0;   // a bound
    C(2 * dense + 1, 0) = -1.0;  // a bound
    /* row 2 dense + 2 stays zero */
    Structure s;
    s.analyze(C);
    CHECK(s.num_dense_rows() == dense + 1);  // the zero row is a (trivial) dense row
    VectorXd z(n);
    for (Eigen::Index j = 0; j < n; ++j) z(j) = nd(rng);
    VectorXd cz(C.rows());
    s.multiply(z, cz);
    for (Eigen::Index i = 0; i < C.rows(); ++i) {
      const double full = C.row(i).dot(z);
      CHECK(std::abs(cz(i) - full) <= 1e-14 * (1.0 + C.row(i).cwiseAbs().dot(z.cwiseAbs())));
    }
    for (Eigen::Index r = 0; r < dense; ++r) CHECK(cz(dense + r) == -cz(r));
    CHECK(cz(2 * dense) == 3.0 * z(n / 2));
    CHECK(cz(2 * dense + 1) == -z(0));
    CHECK(cz(2 * dense + 2) == 0.0);
  }
}
