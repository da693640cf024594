// qp::ProblemDerivatives (qp/derivatives.hpp), the theta-derivative blocks of the QP data that
// Sensitivity reads: resize()'s sizes and zeroed blocks, the pair mask's i * np + j indexing,
// has_second_order() (the soft rows' dw_i dC_j' term counts even with every d2 block empty),
// and the documented contracts as Sensitivity consumes them: an EMPTY block means "does not
// depend on theta" (same result as a zero block), mirrored i < j second-order elements are not
// read, and dw / d2w of a saturated soft row give derivatives that match a hand-derived solution
// and central differences of the solver's own solutions.
#include "rmpc/qp/derivatives.hpp"
#include "rmpc/qp/sensitivity.hpp"

#include "rmpc_catch.hpp"
#include "support/solved_z.hpp"

#include <Eigen/Core>

#include <cstdint>
#include <vector>

namespace {
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

template <typename V>
bool all_zero_of_size(const V& blocks, size_t count, Index rows, Index cols) {
  if (blocks.size() != count) return false;
  for (const auto& b : blocks)
    if (b.rows() != rows || b.cols() != cols || !b.isZero(0)) return false;
  return true;
}

// minimize z'z + g'z + w(theta) max(0, C(theta) z), n = 2, one soft row, no other row:
//   g = (-4, -4), C = (1, theta_1), w = 1 + theta_0 + 1/2 (quadratic ? theta_1^2 : 0).
// Near theta = 0 the row is saturated, so 2 z + g + w C' = 0: z = (2 - w/2, 2 - w theta_1/2).
Problem<double> soft_qp(const VectorXd& th, bool quadratic) {
  Problem<double> qp(2, 0, 1);
  qp.H = 2 * MatrixXd::Identity(2, 2);
  qp.g << -4, -4;
  qp.C << 1, th(1);
  qp.d << 0;
  qp.soft_weight << 1 + th(0) + (quadratic ? 0.5 * th(1) * th(1) : 0.0);
  return qp;
}

ProblemDerivatives<double> soft_qp_derivatives(const VectorXd& th, bool quadratic) {
  ProblemDerivatives<double> dx;
  dx.resize(2, 2, 0, 1, true);
  // Only C and w depend on theta: every other block is left empty.
  dx.dH.clear(), dx.dg.clear(), dx.dA.clear(), dx.db.clear(), dx.dd.clear();
  dx.d2H.clear(), dx.d2g.clear(), dx.d2A.clear(), dx.d2b.clear(), dx.d2d.clear();
  dx.d2C.clear();  // C is affine in theta
  dx.dC[0] << 0, 0;
  dx.dC[1] << 0, 1;
  dx.dw[0] << 1;
  dx.dw[1] << (quadratic ? th(1) : 0.0);
  if (quadratic)
    dx.d2w[3] << 1;  // d2w / dtheta_1^2 at i * np + j = 3
  else
    dx.d2w.clear();
  return dx;
}

}  // namespace

TEST_CASE("resize allocates every block zeroed, second order only on request", "[derivatives]") {
  ProblemDerivatives<double> dx;
  CHECK(dx.num_parameters == 0);
  CHECK(dx.dH.empty());
  CHECK_FALSE(dx.has_second_order());

  dx.resize(3, 4, 1, 5, true);
  CHECK(dx.num_parameters == 3);
  CHECK(all_zero_of_size(dx.dH, 3, 4, 4));
  CHECK(all_zero_of_size(dx.dg, 3, 4, 1));
  CHECK(all_zero_of_size(dx.dA, 3, 1, 4));
  CHECK(all_zero_of_size(dx.db, 3, 1, 1));
  CHECK(all_zero_of_size(dx.dC, 3, 5, 4));
  CHECK(all_zero_of_size(dx.dd, 3, 5, 1));
  CHECK(all_zero_of_size(dx.dw, 3, 5, 1));
  CHECK(all_zero_of_size(dx.d2H, 9, 4, 4));
  CHECK(all_zero_of_size(dx.d2g, 9, 4, 1));
  CHECK(all_zero_of_size(dx.d2A, 9, 1, 4));
  CHECK(all_zero_of_size(dx.d2b, 9, 1, 1));
  CHECK(all_zero_of_size(dx.d2C, 9, 5, 4));
  CHECK(all_zero_of_size(dx.d2d, 9, 5, 1));
  CHECK(all_zero_of_size(dx.d2w, 9, 5, 1));
  CHECK(dx.second_order_pairs.empty());

  dx.dg[1].setOnes();
  dx.second_order_pairs.assign(9, 1);
  dx.resize(2, 3, 0, 2, false);
  CHECK(dx.num_parameters == 2);
  CHECK(all_zero_of_size(dx.dg, 2, 3, 1));  // earlier data are gone
  CHECK(all_zero_of_size(dx.dA, 2, 0, 3));
  CHECK(all_zero_of_size(dx.dw, 2, 2, 1));
  CHECK(dx.d2H.empty());
  CHECK(dx.d2g.empty());
  CHECK(dx.d2C.empty());
  CHECK(dx.d2w.empty());
  CHECK(dx.second_order_pairs.empty());  // cleared: all pairs present again
}

TEST_CASE("fixed-size ProblemDerivatives have their compile-time block sizes", "[derivatives]") {
  using Fixed = ProblemDerivatives<double, 2, 1, 3>;
  static_assert(Fixed::MatrixC::RowsAtCompileTime == 3 && Fixed::MatrixC::ColsAtCompileTime == 2);
  static_assert(Fixed::VectorP::RowsAtCompileTime == 1);
  Fixed dx;
  dx.resize(2, 2, 1, 3, true);
  CHECK(all_zero_of_size(dx.dC, 2, 3, 2));
  CHECK(all_zero_of_size(dx.d2w, 4, 3, 1));
}

TEST_CASE("pair_present reads the mask at i * np + j, all pairs when empty", "[derivatives]") {
  ProblemDerivatives<double> dx;
  dx.resize(3, 2, 0, 1, true);
  for (Index i = 0; i < 3; ++i)
    for (Index j = 0; j < 3; ++j) CHECK(dx.pair_present(i, j));
  dx.second_order_pairs.assign(9, 0);
  dx.second_order_pairs[1 * 3 + 2] = 1;
  dx.second_order_pairs[0] = 7;  // any nonzero value means present
  CHECK(dx.pair_present(1, 2));
  CHECK_FALSE(dx.pair_present(2, 1));  // the mask is not symmetrized
  CHECK(dx.pair_present(0, 0));
  CHECK_FALSE(dx.pair_present(1, 1));
  CHECK_FALSE(dx.pair_present(2, 2));
}

TEST_CASE("pair_has: the block bits of an entry with blocks_known, every block otherwise",
          "[derivatives]") {
  using D = ProblemDerivatives<double>;
  D dx;
  dx.resize(2, 2, 0, 1, true);
  CHECK(dx.pair_has(0, 1, D::block_H));  // no mask: every block of every pair
  dx.second_order_pairs.assign(4, 0);
  dx.second_order_pairs[0] = 1;  // a plain "present" (1 = block_H's bit, but not blocks_known)
  dx.second_order_pairs[1] = D::blocks_known | D::block_g | D::block_w;
  dx.second_order_pairs[3] = D::blocks_known;  // known, and no block: nothing is read
  for (const auto b :
       {D::block_H, D::block_g, D::block_A, D::block_b, D::block_C, D::block_d, D::block_w})
    CHECK(dx.pair_has(0, 0, b));
  CHECK(dx.pair_has(0, 1, D::block_g));
  CHECK(dx.pair_has(0, 1, D::block_w));
  CHECK_FALSE(dx.pair_has(0, 1, D::block_H));
  CHECK_FALSE(dx.pair_has(0, 1, D::block_C));
  CHECK_FALSE(dx.pair_has(0, 1, D::block_d));
  CHECK_FALSE(dx.pair_has(1, 0, D::block_g));  // entry 0: absent
  CHECK(dx.pair_present(1, 1));
  CHECK_FALSE(dx.pair_has(1, 1, D::block_g));
}

TEST_CASE("has_second_order counts the soft rows' dw_i dC_j term", "[derivatives]") {
  ProblemDerivatives<double> dx;
  dx.resize(2, 2, 0, 1, false);
  // No d2 block, but dw and dC both given: w(theta) C(theta)' is not affine.
  CHECK(dx.has_second_order());
  dx.dw.clear();
  CHECK_FALSE(dx.has_second_order());
  dx.resize(2, 2, 0, 1, false);
  dx.dC.clear();
  CHECK_FALSE(dx.has_second_order());

  // Any single non-empty d2 block is second order.
  const auto only = [](auto member) {
    ProblemDerivatives<double> d;
    d.resize(2, 2, 1, 1, true);
    d.dw.clear();
    const auto keep = (d.*member);
    d.d2H.clear(), d.d2g.clear(), d.d2A.clear(), d.d2b.clear(), d.d2C.clear(), d.d2d.clear();
    d.d2w.clear();
    CHECK_FALSE(d.has_second_order());
    d.*member = keep;
    return d.has_second_order();
  };
  using D = ProblemDerivatives<double>;
  CHECK(only(&D::d2H));
  CHECK(only(&D::d2g));
  CHECK(only(&D::d2A));
  CHECK(only(&D::d2b));
  CHECK(only(&D::d2C));
  CHECK(only(&D::d2d));
  CHECK(only(&D::d2w));
}

TEST_CASE("empty blocks, mirrored elements and masked pairs do not change Sensitivity",
          "[derivatives]") {
  // z' H z / 2 with H(theta), g(theta), one active hard row C z <= d(theta), np = 2.
  // Only g and d depend on theta, and only pair (1, 1) has a second derivative.
  const VectorXd th = (VectorXd(2) << 0.3, -0.2).finished();
  Problem<double> qp(3, 0, 1);
  qp.H << 4, 1, 0, 1, 3, 0.5, 0, 0.5, 2;
  qp.g << -1 + th(0), -2 + th(1) * th(1), -1;
  qp.C << 1, 1, 1;
  qp.d << 0.1 + 0.5 * th(0);
  DenseSolver<double> solver;
  REQUIRE(solver.compute(qp).solve().status == Status::optimal);
  REQUIRE(solver.result().row_state(0) == RowState::active);

  ProblemDerivatives<double> full;
  full.resize(2, 3, 0, 1, true);
  full.dg[0] << 1, 0, 0;
  full.dg[1] << 0, 2 * th(1), 0;
  full.dd[0] << 0.5;
  full.d2g[3] << 0, 2, 0;
  Sensitivity<double> ref;
  ref.compute(solver, full);
  REQUIRE(ref.info() == SensitivityStatus::ok);
  CHECK(ref.dz_dtheta().norm() > 0.1);
  CHECK(ref.d2z_dtheta2(1, 1).norm() > 0.1);

  // The mirrored element (0, 1) of a pair i < j is never read (no mask: every pair is read).
  ProblemDerivatives<double> mirrored = full;
  mirrored.d2g[1].setConstant(1e3);
  Sensitivity<double> m;
  m.compute(solver, mirrored);
  REQUIRE(m.info() == SensitivityStatus::ok);
  CHECK((m.dz_dtheta() - ref.dz_dtheta()).norm() <= 1e-14);
  CHECK((m.d2z_dtheta2() - ref.d2z_dtheta2()).norm() <= 1e-14);

  // Empty blocks, and a pair the mask leaves out: (1, 0) carries garbage that is not read.
  ProblemDerivatives<double> sparse = full;
  sparse.dH.clear(), sparse.dA.clear(), sparse.db.clear(), sparse.dC.clear(), sparse.dw.clear();
  sparse.d2H.clear(), sparse.d2A.clear(), sparse.d2b.clear(), sparse.d2C.clear();
  sparse.d2d.clear(), sparse.d2w.clear();
  sparse.d2g[2].setConstant(1e3);
  sparse.second_order_pairs = {0, 0, 0, 1};
  Sensitivity<double> s;
  s.compute(solver, sparse);
  REQUIRE(s.info() == SensitivityStatus::ok);
  CHECK((s.dz_dtheta() - ref.dz_dtheta()).norm() <= 1e-14);
  CHECK((s.d2z_dtheta2() - ref.d2z_dtheta2()).norm() <= 1e-14);

  // Block bits: pair (1, 1) has only d2g; garbage in the blocks its entry marks zero (d2H,
  // d2C, d2d) is not read, by the full second order nor by the functional Hessian.
  using D = ProblemDerivatives<double>;
  ProblemDerivatives<double> blocks = full;
  blocks.d2H[3].setConstant(1e3);
  blocks.d2C[3].setConstant(1e3);
  blocks.d2d[3].setConstant(1e3);
  blocks.second_order_pairs = {0, 0, 0, D::blocks_known | D::block_g};
  Sensitivity<double> b;
  b.compute(solver, blocks);
  REQUIRE(b.info() == SensitivityStatus::ok);
  CHECK((b.d2z_dtheta2() - ref.d2z_dtheta2()).norm() <= 1e-14);
  const Eigen::Vector3d e(0.3, -1.0, 2.0);
  Eigen::Matrix2d hb, href;
  b.functional_hessian(e, hb);
  ref.functional_hessian(e, href);
  CHECK(href.norm() > 0.1);
  CHECK((hb - href).norm() <= 1e-14);
  // The same garbage marked present is read: the blocks are not skipped by accident.
  blocks.second_order_pairs = {0, 0, 0, 1};
  b.compute(solver, blocks);
  b.functional_hessian(e, hb);
  CHECK((hb - href).norm() > 1.0);
}

TEST_CASE("dw and d2w of a saturated soft row: hand-derived values and central differences",
          "[derivatives]") {
  const VectorXd th = (VectorXd(2) << 0.1, 0.2).finished();
  for (const bool quadratic : {true, false}) {
    CAPTURE(quadratic);
    const Problem<double> qp = soft_qp(th, quadratic);
    const ProblemDerivatives<double> dx = soft_qp_derivatives(th, quadratic);
    CHECK(dx.has_second_order());  // even without d2w (affine w): dw_0 dC_1 != 0
    DenseSolver<double> solver;
    REQUIRE(solver.compute(qp).solve().status == Status::optimal);
    REQUIRE(solver.result().row_state(0) == RowState::saturated);
    Sensitivity<double> sens;
    sens.compute(solver, dx);
    REQUIRE(sens.info() == SensitivityStatus::ok);

    // z1 = 2 - w/2, z2 = 2 - w theta_1 / 2 with w = 1 + theta_0 + [theta_1^2 / 2].
    const double t1 = th(1), w = qp.soft_weight(0), dw1 = quadratic ? t1 : 0.0;
    const double d2w11 = quadratic ? 1.0 : 0.0;
    MatrixXd dz(2, 2);
    dz << -0.5, -dw1 / 2, -t1 / 2, -(dw1 * t1 + w) / 2;
    CHECK((sens.dz_dtheta() - dz).norm() <= 1e-12);
    CHECK((sens.d2z_dtheta2(0, 0) - VectorXd::Zero(2)).norm() <= 1e-12);
    // d2z2 / dtheta_0 dtheta_1 = -dw_0 dC_1 / 2: the cross term, present without any d2 block.
    CHECK((sens.d2z_dtheta2(1, 0) - (VectorXd(2) << 0, -0.5).finished()).norm() <= 1e-12);
    CHECK((sens.d2z_dtheta2(0, 1) - (VectorXd(2) << 0, -0.5).finished()).norm() <= 1e-12);
    CHECK((sens.d2z_dtheta2(1, 1) -
           (VectorXd(2) << -d2w11 / 2, -(d2w11 * t1 + 2 * dw1) / 2).finished())
              .norm() <= 1e-12);

    // Central differences of the solver's solutions and of the first-order sensitivities.
    const double h = 1e-5;
    for (Index i = 0; i < 2; ++i) {
      VectorXd tp = th, tm = th;
      tp(i) += h, tm(i) -= h;
      const VectorXd fd = (rmpc::testing::solved_z(soft_qp(tp, quadratic)) -
                           rmpc::testing::solved_z(soft_qp(tm, quadratic))) /
                          (2 * h);
      CHECK((sens.dz_dtheta().col(i) - fd).norm() <= 1e-8);

      const Problem<double> qp_p = soft_qp(tp, quadratic), qp_m = soft_qp(tm, quadratic);
      const ProblemDerivatives<double> dxp = soft_qp_derivatives(tp, quadratic);
      const ProblemDerivatives<double> dxm = soft_qp_derivatives(tm, quadratic);
      DenseSolver<double> sp, sm;
      REQUIRE(sp.compute(qp_p).solve().status == Status::optimal);
      REQUIRE(sm.compute(qp_m).solve().status == Status::optimal);
      Sensitivity<double> sens_p, sens_m;
      sens_p.compute(sp, dxp);
      sens_m.compute(sm, dxm);
      const MatrixXd fd2 = (sens_p.dz_dtheta() - sens_m.dz_dtheta()) / (2 * h);
      for (Index j = 0; j < 2; ++j) CHECK((sens.d2z_dtheta2(j, i) - fd2.col(j)).norm() <= 1e-7);
    }
  }
}
