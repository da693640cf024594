// Policy derivatives of lq_mpc.hpp against central finite differences: du0/dtheta,
// d2u0/dtheta2 (differences of the exact first derivative) and du0/ds, at states with active
// input bounds, active soft state rows and saturated soft rows; a richer model with theta in
// the cost, terminal cost and general soft rows; and the allocation-free fixed-size path.
// Eigen checks set_is_malloc_allowed() with eigen_assert, which NDEBUG (Release) disables:
// keep assertions on in this file so that an allocation aborts the test.
#undef NDEBUG
#define EIGEN_RUNTIME_NO_MALLOC
#include <Eigen/Core>

#include "rmpc/mpc/lq_mpc.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/mpc_fd.hpp"

namespace {

using linear_2d::PaperModel;
using linear_2d::PaperMpc;
using rmpc_test::check_against_fd;

/// theta enters the cost (Q, R), terminal cost, a general soft row and a soft input bound.
struct RichModel {
  template <class T>
  void operator()(const Eigen::Matrix<T, 6, 1>& t, rmpc::mpc::LqData<T, 2, 1, 1>& out) const {
    out.A << T(1.0) + T(0.1) * t(0), T(0.2), T(-0.1), T(0.95);
    out.B << T(0.1), T(0.2) + T(0.05) * t(1);
    out.b << T(0.01) * t(2), T(0.0);
    out.Q << T(1.0) + t(3) * t(3), T(0.1), T(0.1), T(0.5);
    out.q << T(0.05) * t(4), T(0.0);
    out.R(0, 0) = T(0.3) + T(0.1) * t(4) * t(4);
    out.r(0) = T(0.02);
    out.P = out.Q * (T(2.0) + t(5));
    out.u_lb(0) = T(-0.6);
    out.u_ub(0) = T(0.6) + T(0.1) * t(5);
    out.x_lb << T(-0.3) + T(0.1) * t(2), T(-1.0);
    out.x_ub << T(1.0), T(0.4);
    out.x_soft_weight << T(20.0), T(5.0);
    out.E_x << T(1.0), T(1.0) + T(0.2) * t(0);
    out.E_u << T(0.3);
    out.e << T(0.5) + T(0.1) * t(1);
    out.e_soft_weight << T(3.0);
  }
};
using RichMpc = rmpc::mpc::LqMpc<double, 2, 1, 6, 6, 1>;

}  // namespace

TEST_CASE("Policy derivatives match finite differences (paper MPC)", "[lq_mpc][derivatives]") {
  PaperMpc mpc(PaperModel{});
  const auto theta0 = linear_2d::theta0();
  SECTION("no state row active") {
    check_against_fd(mpc, theta0, Eigen::Vector2d(0.30882, -0.13558), 1e-5, 1e-7, 1e-5);
  }
  SECTION("soft x1 >= theta8 rows active") {
    check_against_fd(mpc, theta0, Eigen::Vector2d(0.05, -0.2), 1e-5, 1e-7, 1e-5);
  }
  SECTION("several soft rows active") {
    check_against_fd(mpc, theta0, Eigen::Vector2d(0.1, -0.5), 1e-5, 1e-7, 1e-5);
  }
  SECTION("input bound active on u0 and later inputs") {
    mpc.set_parameters(theta0);
    const auto& r = mpc.evaluate(Eigen::Vector2d(0.5, 0.5));
    REQUIRE(r.row_state(1) == rmpc::qp::RowState::active);  // -u0 <= 1
    CHECK(r.du0_dtheta.isZero(1e-12));                      // u0 pinned at -1
    CHECK(r.du0_ds.isZero(1e-12));
    check_against_fd(mpc, theta0, Eigen::Vector2d(0.5, 0.5), 1e-5, 1e-7, 1e-5);
    check_against_fd(mpc, theta0, Eigen::Vector2d(0.53053, 0.185), 1e-5, 1e-7, 1e-5);
  }
  SECTION("saturated soft row (predicted x1 violation)") {
    // Find a state whose solution has a saturated soft row and a regular active set.
    mpc.set_parameters(theta0);
    bool found = false;
    Eigen::Vector2d s_sat;
    for (double x1 = -0.2; x1 <= 0.2 && !found; x1 += 0.0137)
      for (double x2 = -1.0; x2 <= 0.0 && !found; x2 += 0.0311) {
        const auto& r = mpc.evaluate(Eigen::Vector2d(x1, x2));
        if (r.status == rmpc::mpc::PolicyStatus::ok &&
            (r.row_state.array() == std::int8_t(rmpc::qp::RowState::saturated)).any()) {
          found = true;
          s_sat = Eigen::Vector2d(x1, x2);
        }
      }
    REQUIRE(found);
    INFO("s = " << s_sat.transpose());
    check_against_fd(mpc, theta0, s_sat, 1e-6, 1e-6, 1e-4);
  }
}

TEST_CASE(
    "Policy derivatives match finite differences (theta in cost, terminal cost, general rows)",
    "[lq_mpc][derivatives]") {
  RichMpc mpc(RichModel{});
  Eigen::Matrix<double, 6, 1> theta;
  theta << 0.3, -0.2, 0.5, 0.7, 0.4, 0.1;
  int checked = 0;
  for (const Eigen::Vector2d& s :
       {Eigen::Vector2d(0.2, 0.1), Eigen::Vector2d(0.8, 0.3), Eigen::Vector2d(-0.4, 0.6),
        Eigen::Vector2d(1.5, -0.2), Eigen::Vector2d(-0.5, -0.9)}) {
    mpc.set_parameters(theta);
    const auto& r = mpc.evaluate(s);
    if (r.status != rmpc::mpc::PolicyStatus::ok) continue;  // FD needs a regular point
    INFO("s = " << s.transpose() << " active " << r.row_state.transpose().cast<int>());
    check_against_fd(mpc, theta, s, 1e-6, 2e-6, 2e-4);
    ++checked;
  }
  CHECK(checked >= 3);
}

TEST_CASE("dz/dtheta on request equals finite differences of all inputs", "[lq_mpc][derivatives]") {
  PaperMpc mpc(PaperModel{});
  const auto theta0 = linear_2d::theta0();
  const Eigen::Vector2d s(0.05, -0.2);
  rmpc::mpc::PolicyRequest request;
  request.dz_dtheta = true;
  mpc.set_parameters(theta0);
  const auto r = mpc.evaluate(s, request);
  REQUIRE(r.ok());
  CHECK((r.dz_dtheta.row(0) - r.du0_dtheta).cwiseAbs().maxCoeff() < 1e-14);
  const double h = 1e-6;
  for (int i = 0; i < 8; ++i) {
    auto tp = theta0, tm = theta0;
    tp(i) += h;
    tm(i) -= h;
    mpc.set_parameters(tp);
    const Eigen::Matrix<double, 10, 1> up = mpc.evaluate(s).u;
    mpc.set_parameters(tm);
    const Eigen::Matrix<double, 10, 1> um = mpc.evaluate(s).u;
    CHECK(((up - um) / (2 * h) - r.dz_dtheta.col(i)).cwiseAbs().maxCoeff() < 1e-6);
  }
}

TEST_CASE("Fixed-size policy evaluation with derivatives does not allocate",
          "[lq_mpc][no_malloc]") {
  PaperMpc mpc(PaperModel{});
  REQUIRE(mpc.set_parameters(linear_2d::theta0()) == rmpc::qp::Status::optimal);
  const Eigen::Vector2d states[] = {
      {0.30882, -0.13558}, {0.05, -0.2}, {0.5, 0.5}, {0.1, -0.5}, {-0.02, -0.12}};
  Eigen::Matrix<double, 10, 1> extra = Eigen::Matrix<double, 10, 1>::Zero();
  mpc.exploration_cost(Eigen::Matrix<double, 1, 1>::Constant(0.05), extra);
  mpc.evaluate(states[0]);  // the first call may size nothing, but keep it outside anyway
  double sum = 0.0;
  Eigen::internal::set_is_malloc_allowed(false);
  for (const auto& s : states) {
    const auto& r = mpc.evaluate(s);
    sum += r.u0(0) + r.du0_dtheta.sum() + r.d2u0_dtheta2.sum() + r.du0_ds.sum();
    const auto& re = mpc.evaluate(s, rmpc::mpc::PolicyRequest{}, extra);
    sum += re.u0(0);
  }
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(std::isfinite(sum));
}
