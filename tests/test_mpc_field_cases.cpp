// Field cases of issue #15 at the MPC level (lq_mpc.hpp, condensing.hpp):
//  5   an input pinned by u_lb = u_ub = theta: du0/dtheta from the equality, checked against
//      finite differences from both sides;
//  8   sizes checked before any conversion to fixed-size types, at every public entry;
//  9   results returned by value stay valid; the copy contract of LqMpc;
//  10  u_lb > u_ub caught at set-up, model fields of the wrong size named;
//  13  infinite bounds never become rows;
//  15a an exact-L1 soft weight of 0 is valid data ("no penalty") for the MPC and the QP;
//      a NaN theta is a status, not a throw.
#include "rmpc/mpc/lq_mpc.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using rmpc::mpc::PolicyStatus;
using rmpc::qp::Status;

/// nx = 1, nu = 2, N = 3, x+ = x + u1 + u2, Q = R = P = 1; the switches select the case.
struct SmallModel {
  bool pinned = true;          ///< u_lb(1) = u_ub(1) = theta
  bool bounded = false;        ///< -1 <= u <= 1 (both inputs)
  bool lb_gt_ub = false;       ///< hard u_lb(0) = 1 > u_ub(0) = -1
  bool soft_lb_gt_ub = false;  ///< the same, soft (L1 weight 10): a valid penalty
  bool zero_l1 = false;        ///< soft state bounds |x| <= 0.1 with L1 weight 0
  template <class T>
  void operator()(const Eigen::Matrix<T, 1, 1>& t, rmpc::mpc::LqData<T, 1, 2>& out) const {
    out.A(0, 0) = T(1.0);
    out.B << T(1.0), T(1.0);
    out.Q(0, 0) = T(1.0);
    out.R.setIdentity();
    out.P(0, 0) = T(1.0);
    if (pinned) {
      out.u_lb(1) = t(0);
      out.u_ub(1) = t(0);
    }
    if (bounded) {
      out.u_lb.setConstant(T(-1.0));
      out.u_ub.setConstant(T(1.0));
    }
    if (lb_gt_ub || soft_lb_gt_ub) {
      out.u_lb(0) = T(1.0);
      out.u_ub(0) = T(-1.0);
    }
    if (soft_lb_gt_ub) out.u_soft_weight(0) = T(10.0);
    if (zero_l1) {
      out.x_lb(0) = T(-0.1);
      out.x_ub(0) = T(0.1);
      out.x_soft_weight(0) = T(0.0);
    }
  }
};
using SmallMpc = rmpc::mpc::LqMpc<double, 1, 2, 3, 1>;
using Vec1 = Eigen::Matrix<double, 1, 1>;

Vec1 v1(double x) { return Vec1::Constant(x); }

/// nx = 4, nu = 1, N = 3, np = 12 (item 8).
struct WideModel {
  template <class T>
  void operator()(const Eigen::Matrix<T, 12, 1>& t, rmpc::mpc::LqData<T, 4, 1>& out) const {
    for (int i = 0; i < 4; ++i) {
      out.A(i, i) = T(0.9) + T(0.01) * t(i);
      out.B(i, 0) = T(0.5) + T(0.01) * t(4 + i);
      out.b(i) = T(0.01) * t(8 + i);
    }
    out.Q.setIdentity();
    out.R(0, 0) = T(1.0);
    out.P.setIdentity();
    out.u_lb(0) = T(-1.0);
    out.u_ub(0) = T(1.0);
  }
};
using WideMpc = rmpc::mpc::LqMpc<double, 4, 1, 3, 12>;

/// Dynamic sizes: a model that writes a 4x4 A although sizes.nx = 3 (item 10).
struct WrongSizeModel {
  template <class T>
  void operator()(const Eigen::Matrix<T, Eigen::Dynamic, 1>& t,
                  rmpc::mpc::LqData<T, Eigen::Dynamic, Eigen::Dynamic>& out) const {
    out.A = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>::Identity(4, 4);
    out.B.setConstant(t(0));
    out.Q.setIdentity();
    out.R.setIdentity();
    out.P.setIdentity();
  }
};
using DynMpc =
    rmpc::mpc::LqMpc<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic>;

using rmpc::testing::thrown_message;

}  // namespace

// ---------------------------------------------------------------------------------- item 5

TEST_CASE("Input pinned by u_lb = u_ub = theta: du0/dtheta = (-12/13, 1) from both sides",
          "[lq_mpc][field][degenerate]") {
  SmallMpc mpc(SmallModel{});
  const Vec1 s = v1(0.0);
  REQUIRE(mpc.set_parameters(v1(0.0)) == Status::optimal);
  const auto r = mpc.evaluate(s);
  REQUIRE(r.qp_status == Status::optimal);
  CHECK(r.status == PolicyStatus::ok);
  CHECK(r.sensitivity_status == rmpc::qp::SensitivityStatus::ok);
  CHECK(r.du0_dtheta(0, 0) == Approx(-12.0 / 13.0).epsilon(1e-12));
  CHECK(r.du0_dtheta(1, 0) == Approx(1.0).epsilon(1e-12));
  CHECK(r.hessian(0).cwiseAbs().maxCoeff() < 1e-12);  // the policy is linear in theta here

  const double h = 1e-6;
  mpc.set_parameters(v1(h));
  const Eigen::Vector2d up = mpc.evaluate(s).u0;
  mpc.set_parameters(v1(-h));
  const Eigen::Vector2d um = mpc.evaluate(s).u0;
  const Eigen::Vector2d right = (up - r.u0) / h, left = (r.u0 - um) / h,
                        central = (up - um) / (2 * h);
  CHECK((right - r.du0_dtheta.col(0)).cwiseAbs().maxCoeff() < 1e-7);
  CHECK((left - r.du0_dtheta.col(0)).cwiseAbs().maxCoeff() < 1e-7);
  CHECK((central - r.du0_dtheta.col(0)).cwiseAbs().maxCoeff() < 1e-7);

  // du0/ds from both sides as well.
  mpc.set_parameters(v1(0.0));
  const Eigen::Vector2d sp = mpc.evaluate(v1(h)).u0, sm = mpc.evaluate(v1(-h)).u0;
  CHECK(((sp - r.u0) / h - r.du0_ds.col(0)).cwiseAbs().maxCoeff() < 1e-7);
  CHECK(((r.u0 - sm) / h - r.du0_ds.col(0)).cwiseAbs().maxCoeff() < 1e-7);
}

TEST_CASE("Input pinned by equal bounds away from zero: derivatives match central differences",
          "[lq_mpc][field][degenerate]") {
  SmallMpc mpc(SmallModel{});
  const Vec1 theta = v1(0.3), s = v1(0.5);
  REQUIRE(mpc.set_parameters(theta) == Status::optimal);
  const auto r = mpc.evaluate(s);
  REQUIRE(r.status == PolicyStatus::ok);
  const double h = 1e-6;
  mpc.set_parameters(v1(0.3 + h));
  const auto rp = mpc.evaluate(s);
  mpc.set_parameters(v1(0.3 - h));
  const auto rm = mpc.evaluate(s);
  CHECK(((rp.u0 - rm.u0) / (2 * h) - r.du0_dtheta.col(0)).cwiseAbs().maxCoeff() < 1e-7);
  CHECK(((rp.u0 - r.u0) / h - r.du0_dtheta.col(0)).cwiseAbs().maxCoeff() < 1e-7);
  CHECK(((r.u0 - rm.u0) / h - r.du0_dtheta.col(0)).cwiseAbs().maxCoeff() < 1e-7);
  CHECK(r.u0(1) == Approx(0.3));
}

// ---------------------------------------------------------------------------------- item 8

TEST_CASE(
    "Fixed-size LqMpc checks sizes before converting (set_parameters, evaluate, q_value, ...)",
    "[lq_mpc][field][sizes]") {
  WideMpc mpc(WideModel{});
  const Eigen::VectorXd theta11 = Eigen::VectorXd::Zero(11), theta12 = Eigen::VectorXd::Zero(12);
  CHECK(thrown_message([&] {
          mpc.set_parameters(theta11);
        }).find("theta is 11x1, expected a vector of np = 12") != std::string::npos);
  CHECK(thrown_message([&] { mpc.set_parameters(Eigen::RowVectorXd::Zero(12)); }).find("theta") !=
        std::string::npos);
  REQUIRE(mpc.set_parameters(theta12) == Status::optimal);

  const Eigen::Vector3d s3(0.1, 0.2, 0.3);
  const Eigen::VectorXd s3d = s3, s4d = Eigen::VectorXd::Constant(4, 0.5);
  CHECK(thrown_message([&] { mpc.evaluate(s3); }).find("s is 3x1, expected a vector of nx = 4") !=
        std::string::npos);
  CHECK(thrown_message([&] { mpc.evaluate(s3d); }).find("nx = 4") != std::string::npos);
  CHECK(mpc.evaluate(s4d).ok());

  WideMpc::Result out;
  CHECK_THROWS_AS(mpc.evaluate(s3d, rmpc::mpc::PolicyRequest{}, out), std::invalid_argument);
  const Eigen::VectorXd extra_bad = Eigen::VectorXd::Zero(2), extra = Eigen::VectorXd::Zero(3);
  CHECK(thrown_message([&] {
          mpc.evaluate(s4d, rmpc::mpc::PolicyRequest{}, extra_bad);
        }).find("extra_g") != std::string::npos);
  CHECK_NOTHROW(mpc.evaluate(s4d, rmpc::mpc::PolicyRequest{}, extra));

  CHECK(thrown_message([&] { mpc.q_value(s3, Vec1::Zero()); }).find("LqMpc::q_value: s") !=
        std::string::npos);
  CHECK(thrown_message([&] {
          mpc.q_value(s4d, Eigen::Vector2d::Zero());
        }).find("LqMpc::q_value: a") != std::string::npos);
  CHECK(mpc.q_value(s4d, Vec1::Zero()).ok());

  Eigen::Vector2d small_out;
  CHECK(thrown_message([&] { mpc.exploration_cost(Vec1::Constant(0.1), small_out); }).find("out") !=
        std::string::npos);
  CHECK(thrown_message([&] {
          mpc.exploration_cost(Eigen::Vector2d(0.1, 0.1), extra);
        }).find("exploration_cost: d") != std::string::npos);
  Eigen::VectorXd grown;
  mpc.exploration_cost(Vec1::Constant(0.1), grown);
  CHECK(grown.size() == 3);

  Eigen::Matrix<double, 4, 4> x;
  Eigen::MatrixXd xd;
  CHECK(thrown_message([&] { mpc.rollout(s3d, Eigen::Vector3d::Zero(), x); }).find("rollout: s") !=
        std::string::npos);
  CHECK(thrown_message([&] { mpc.rollout(s4d, Eigen::Vector2d::Zero(), x); }).find("rollout: u") !=
        std::string::npos);
  Eigen::Matrix<double, 4, 3> x_short;
  CHECK(thrown_message([&] {
          mpc.rollout(s4d, Eigen::Vector3d::Zero(), x_short);
        }).find("rollout: x") != std::string::npos);
  CHECK(std::isfinite(mpc.rollout(s4d, Eigen::Vector3d::Zero(), xd)));
  CHECK(xd.rows() == 4);
  CHECK(xd.cols() == 4);
}

// ---------------------------------------------------------------------------------- item 9

TEST_CASE("evaluate() results stay valid: returned by value", "[lq_mpc][field][results]") {
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  REQUIRE(mpc.set_parameters(linear_2d::theta0()) == Status::optimal);
  const Eigen::Vector2d a(0.30882, -0.13558), b(0.5, 0.5);
  const double ua = mpc.evaluate(a).u0(0), ub = mpc.evaluate(b).u0(0);
  REQUIRE(std::abs(ua - ub) > 1e-3);
  const Eigen::Matrix<double, 1, 1> diff =
      mpc.evaluate(a).u0 - mpc.evaluate(b).u0;  // evaluated in one full expression
  CHECK(diff(0) == Approx(ua - ub).epsilon(1e-12));
  const auto& ra = mpc.evaluate(a);  // lifetime-extended value
  const auto rb = mpc.evaluate(b);
  CHECK(ra.u0(0) == Approx(ua).epsilon(1e-12));
  CHECK(rb.u0(0) == Approx(ub).epsilon(1e-12));

  // The allocation-free overload fills a caller-owned result with the same values (cold
  // starts on both sides: a warm start from another state may differ in the last bits).
  rmpc::mpc::PolicyRequest cold;
  cold.warm_start = false;
  const auto rc = mpc.evaluate(a, cold);
  linear_2d::PaperMpc::Result out;
  mpc.evaluate(a, cold, out);
  CHECK(out.u0 == rc.u0);
  CHECK(out.du0_dtheta == rc.du0_dtheta);
  CHECK(out.d2u0_dtheta2 == rc.d2u0_dtheta2);
  CHECK((out.u0 - ra.u0).cwiseAbs().maxCoeff() < 1e-12);

  // q_value is returned by value too.
  const auto qa = mpc.q_value(a, Eigen::Matrix<double, 1, 1>::Constant(0.1));
  const auto qb = mpc.q_value(a, Eigen::Matrix<double, 1, 1>::Constant(-0.1));
  CHECK(qa.u(0) == Approx(0.1));
  CHECK(qb.u(0) == Approx(-0.1));
}

TEST_CASE("A copy of an LqMpc after set_parameters evaluates identically and independently",
          "[lq_mpc][field][results]") {
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  REQUIRE(mpc.set_parameters(linear_2d::theta0()) == Status::optimal);
  mpc.evaluate(Eigen::Vector2d(0.05, -0.2));  // a warm start to copy along
  linear_2d::PaperMpc copy = mpc;
  linear_2d::PaperMpc to_move = mpc;
  linear_2d::PaperMpc moved = std::move(to_move);  // to_move is not used again
  const Eigen::Vector2d states[] = {
      {0.30882, -0.13558}, {0.05, -0.2}, {0.5, 0.5}, {0.1, -0.5}, {-0.02, -0.12}};
  for (const auto& s : states) {
    const auto r = mpc.evaluate(s);
    const auto rc = copy.evaluate(s);
    const auto rm = moved.evaluate(s);
    REQUIRE(r.qp_status == Status::optimal);
    CHECK(rc.status == r.status);
    CHECK(rc.u0 == r.u0);
    CHECK(rc.du0_dtheta == r.du0_dtheta);
    CHECK(rc.d2u0_dtheta2 == r.d2u0_dtheta2);
    CHECK(rc.du0_ds == r.du0_ds);
    CHECK(rm.u0 == r.u0);
    CHECK(rm.d2u0_dtheta2 == r.d2u0_dtheta2);
  }
  // Independent: a new theta in the original leaves the copy at theta0.
  auto theta = linear_2d::theta0();
  theta(5) += 0.1;
  REQUIRE(mpc.set_parameters(theta) == Status::optimal);
  CHECK(copy.parameters() == linear_2d::theta0());
  CHECK(copy.evaluate(states[0]).u0 == moved.evaluate(states[0]).u0);
  CHECK(mpc.evaluate(states[0]).u0 != copy.evaluate(states[0]).u0);
}

// --------------------------------------------------------------------------------- item 10

TEST_CASE("u_lb > u_ub is caught at set-up with the field named", "[lq_mpc][field][setup]") {
  SmallModel model;
  model.pinned = false;
  model.lb_gt_ub = true;
  SmallMpc mpc(model);
  CHECK(mpc.set_parameters(v1(0.0)) == Status::invalid_input);
  CHECK(mpc.setup_message().find("u_lb(0)") != std::string::npos);
  CHECK(mpc.setup_message().find("u_ub(0)") != std::string::npos);
  CHECK(mpc.evaluate(v1(0.0)).status == PolicyStatus::not_ready);

  // Soft: a valid (convex) penalty, not an error.
  SmallModel soft;
  soft.pinned = false;
  soft.soft_lb_gt_ub = true;
  SmallMpc soft_mpc(soft);
  CHECK(soft_mpc.set_parameters(v1(0.0)) == Status::optimal);
  CHECK(soft_mpc.setup_message().empty());
  CHECK(soft_mpc.evaluate(v1(0.0)).qp_status == Status::optimal);
}

TEST_CASE("A dynamic-size model writing the wrong size names the field", "[lq_mpc][field][setup]") {
  rmpc::mpc::LqSizes sizes;
  sizes.nx = 3;
  sizes.nu = 1;
  sizes.horizon = 3;
  sizes.np = 1;
  DynMpc mpc(WrongSizeModel{}, sizes);
  const std::string msg =
      thrown_message([&] { mpc.set_parameters(Eigen::VectorXd::Constant(1, 0.5)); });
  CHECK(msg.find("the model set A to 4x4, expected nx x nx = 3x3") != std::string::npos);
  CHECK(thrown_message([&] { mpc.set_parameters(Eigen::VectorXd::Zero(2)); }).find("np = 1") !=
        std::string::npos);
}

// --------------------------------------------------------------------------------- item 13

TEST_CASE("Infinite bounds never become rows: no state bounds, states beyond 1e20",
          "[lq_mpc][field][rows]") {
  SmallModel model;
  model.pinned = false;
  model.bounded = true;  // finite input bounds, no state bounds
  SmallMpc mpc(model);
  REQUIRE(mpc.set_parameters(v1(0.0)) == Status::optimal);
  // The state rows (x_k <= +inf, -x_k <= +inf for k = 1, 2) are inert: zero row, zero D, d0 = 1.
  const rmpc::mpc::CondensedRowLayout layout = mpc.row_layout();
  const Eigen::Index first = layout.state_row(1, 0, true), count = layout.state_rows();
  REQUIRE(count == 4);  // 2 nx (N - 1) with nx = 1, N = 3
  CHECK(mpc.problem().C.middleRows(first, count).isZero(0));
  CHECK(mpc.D().middleRows(first, count).isZero(0));
  CHECK((mpc.d0().segment(first, count).array() == 1.0).all());
  CHECK(mpc.num_rows() == layout.input_rows() + count);
  for (double s : {2e20, -3e21}) {
    INFO("s = " << s);
    const auto r = mpc.evaluate(v1(s));
    CHECK(r.qp_status == Status::optimal);
    CHECK(r.u0(0) == Approx(s > 0 ? -1.0 : 1.0));
    CHECK(r.u0(1) == Approx(s > 0 ? -1.0 : 1.0));
  }
  // Unbounded inputs too: every row is inert.
  SmallModel free_model;
  free_model.pinned = false;
  SmallMpc free_mpc(free_model);
  REQUIRE(free_mpc.set_parameters(v1(0.0)) == Status::optimal);
  CHECK(free_mpc.problem().C.isZero(0));
  CHECK(free_mpc.evaluate(v1(5e20)).qp_status == Status::optimal);
}

// -------------------------------------------------------------------------------- item 15a

TEST_CASE("An exact-L1 soft weight of 0 means no penalty: valid for the MPC and the QP",
          "[lq_mpc][field][setup]") {
  SmallModel zero;
  zero.pinned = false;
  zero.bounded = true;
  zero.zero_l1 = true;
  SmallModel none = zero;
  none.zero_l1 = false;
  SmallMpc with_zero(zero), without(none);
  REQUIRE(with_zero.set_parameters(v1(0.0)) == Status::optimal);
  REQUIRE(without.set_parameters(v1(0.0)) == Status::optimal);
  CHECK((with_zero.problem().soft_weight.array() > 0).all());  // the QP's definition: w > 0 or +inf
  for (double s : {0.05, 0.8, -1.5}) {
    const auto a = with_zero.evaluate(v1(s));
    const auto b = without.evaluate(v1(s));
    REQUIRE(a.ok());
    CHECK((a.u - b.u).cwiseAbs().maxCoeff() < 1e-12);
    CHECK(a.cost == Approx(b.cost));
  }
}

// ----------------------------------------------------------------------------- NaN theta

TEST_CASE("A NaN theta is a status with a message, never a throw", "[lq_mpc][field][setup]") {
  linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
  auto theta = linear_2d::theta0();
  theta(3) = std::numeric_limits<double>::quiet_NaN();
  Status st = Status::optimal;
  CHECK_NOTHROW(st = mpc.set_parameters(theta));
  CHECK(st == Status::invalid_input);
  CHECK(mpc.setup_message().find("theta(3)") != std::string::npos);
  CHECK(mpc.evaluate(Eigen::Vector2d(0.1, 0.1)).status == PolicyStatus::not_ready);
  theta(3) = std::numeric_limits<double>::infinity();
  CHECK(mpc.set_parameters(theta) == Status::invalid_input);
  CHECK(mpc.set_parameters(linear_2d::theta0()) == Status::optimal);
  CHECK(mpc.setup_message().empty());
  CHECK(mpc.evaluate(Eigen::Vector2d(0.1, 0.1)).qp_status == Status::optimal);
  // Wrong sizes stay programmer errors.
  CHECK_THROWS_AS(mpc.set_parameters(Eigen::VectorXd::Zero(7)), std::invalid_argument);
}

// ---------------------------------------------------------------------------- MaxOrder

TEST_CASE("MaxOrder 1 and 0 give the same values and first derivatives as MaxOrder 2",
          "[lq_mpc][max_order]") {
  using FirstOrderMpc = rmpc::mpc::LqMpc<double, 1, 2, 3, 1, 0, 0, 1>;
  using ValueMpc = rmpc::mpc::LqMpc<double, 1, 2, 3, 1, 0, 0, 0>;
  SmallMpc full(SmallModel{});
  rmpc::mpc::LqMpcSettings<double> first_settings;
  first_settings.derivative_order = 1;
  FirstOrderMpc first(SmallModel{}, FirstOrderMpc::default_sizes(), first_settings);
  SmallMpc full_at_order_1(SmallModel{}, SmallMpc::default_sizes(),
                           first_settings);  // the Ad2 pass, first order only
  rmpc::mpc::LqMpcSettings<double> value_settings;
  value_settings.derivative_order = 0;
  ValueMpc values(SmallModel{}, ValueMpc::default_sizes(), value_settings);
  for (double theta : {-0.05, 0.0, 0.3}) {
    REQUIRE(full.set_parameters(v1(theta)) == Status::optimal);
    REQUIRE(first.set_parameters(v1(theta)) == Status::optimal);
    REQUIRE(full_at_order_1.set_parameters(v1(theta)) == Status::optimal);
    REQUIRE(values.set_parameters(v1(theta)) == Status::optimal);
    for (double s : {-0.4, 0.02, 0.7}) {
      const auto a = full.evaluate(v1(s));
      const auto b = first.evaluate(v1(s));
      const auto c = full_at_order_1.evaluate(v1(s));
      const auto d = values.evaluate(v1(s));
      REQUIRE(a.qp_status == Status::optimal);
      CHECK((a.u0 - b.u0).cwiseAbs().maxCoeff() == 0.0);
      CHECK((a.u0 - d.u0).cwiseAbs().maxCoeff() == 0.0);
      CHECK(a.sensitivity_status == b.sensitivity_status);
      CHECK((a.du0_dtheta - b.du0_dtheta).cwiseAbs().maxCoeff() < 1e-14);
      CHECK((a.du0_dtheta - c.du0_dtheta).cwiseAbs().maxCoeff() == 0.0);
      CHECK((a.du0_ds - b.du0_ds).cwiseAbs().maxCoeff() < 1e-14);
      CHECK(b.d2u0_dtheta2.cwiseAbs().maxCoeff() == 0.0);  // not prepared at order 1
      CHECK(d.sensitivity_status == rmpc::qp::SensitivityStatus::not_solved);
      CHECK(d.state_sensitivity_status == rmpc::qp::SensitivityStatus::not_solved);
    }
  }
  // derivative_order above the type's MaxOrder is a programmer error that names both.
  rmpc::mpc::LqMpcSettings<double> too_high;
  too_high.derivative_order = 2;
  const std::string msg = thrown_message(
      [&] { FirstOrderMpc m(SmallModel{}, FirstOrderMpc::default_sizes(), too_high); });
  CHECK(msg.find("derivative_order = 2") != std::string::npos);
  CHECK(msg.find("MaxOrder = 1") != std::string::npos);
  too_high.derivative_order = 3;
  CHECK(thrown_message([&] {
          SmallMpc m(SmallModel{}, SmallMpc::default_sizes(), too_high);
        }).find("LqMpcSettings::derivative_order must be 0, 1 or 2") == 0);
  too_high.derivative_order = 2;
  too_high.qp.feasibility_tolerance = -1;
  CHECK(thrown_message([&] {
          SmallMpc m(SmallModel{}, SmallMpc::default_sizes(), too_high);
        }).find("qp::Settings::feasibility_tolerance") == 0);
}

// States where the active set changes, found by bisecting rays of states (60 halvings: within
// 1e-18 of the change): a row there is weakly active or in the span of the others (u_0 <= 1
// met by six active state rows at once). Every QP along the way is solved; before the
// dependent-row fix of DenseSolver, 681 of 72 000 such evaluations ended solver_failed
// (the QP `inaccurate`; tests/test_dense_solver_field_cases.cpp, field 15, holds one), here
// on 21 of the 400 rays (thetas 3, 5 and 6, the first at theta 3, ray 4).
namespace {

struct DegenerateCounts {
  int rays = 0, changed = 0, weakly_active = 0;
};

// Thetas first_theta..last_theta of 8 (theta0, theta_true, 6 random ones), the first `rays`
// of 50 rays each; the random numbers are drawn for all of them, so that a subset sees the
// same thetas and rays as the whole.
DegenerateCounts solve_degenerate_states(int first_theta, int last_theta, int rays) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  rmpc::mpc::PolicyRequest values;
  values.du0_dtheta = values.d2u0_dtheta2 = values.du0_ds = false;
  values.warm_start = false;
  rmpc::mpc::PolicyRequest all;  // every derivative, warm-started from the bisection's last
  DegenerateCounts counts;
  for (int t = 0; t < 8; ++t) {
    Eigen::Matrix<double, 8, 1> theta = t == 1 ? linear_2d::theta_true() : linear_2d::theta0();
    if (t >= 2)
      for (int i = 0; i < 8; ++i) theta(i) += 0.15 * u(rng) * (i < 5 ? 1.0 : 0.3);
    std::vector<Eigen::Vector2d> directions;
    for (int k = 0; k < 50; ++k) directions.emplace_back(1.6 * u(rng), 1.6 * u(rng));
    if (t < first_theta || t > last_theta) continue;
    linear_2d::PaperMpc mpc(linear_2d::PaperModel{});
    REQUIRE(mpc.set_parameters(theta) == Status::optimal);
    linear_2d::PaperMpc::Result r;
    mpc.evaluate(Eigen::Vector2d::Zero(), values, r);
    REQUIRE(r.status == PolicyStatus::ok);
    const auto origin = r.row_state;
    for (int k = 0; k < rays; ++k, ++counts.rays) {
      const Eigen::Vector2d& s = directions[size_t(k)];
      double lo = 0.0, hi = 1.0;
      for (int b = 0; b < 60; ++b) {
        const double c = 0.5 * (lo + hi);
        mpc.evaluate(Eigen::Vector2d(c * s), values, r);
        CAPTURE(t, k, b, c * s(0), c * s(1), rmpc::qp::to_string(r.qp_status));
        REQUIRE(r.status == PolicyStatus::ok);
        (r.row_state == origin ? lo : hi) = c;
      }
      if (hi == 1.0) continue;  // the active set never changed along this ray
      ++counts.changed;
      for (const double c : {lo, hi}) {
        mpc.evaluate(Eigen::Vector2d(c * s), all, r);
        CAPTURE(t, k, c * s(0), c * s(1), rmpc::qp::to_string(r.qp_status));
        REQUIRE(r.status != PolicyStatus::solver_failed);
        REQUIRE(r.status != PolicyStatus::not_ready);
        counts.weakly_active += r.status == PolicyStatus::weakly_active;
      }
    }
  }
  return counts;
}

}  // namespace

TEST_CASE("The paper's MPC is solved where its active set changes: theta 3, rays 0-9",
          "[lq_mpc][field][degenerate]") {
  const DegenerateCounts counts = solve_degenerate_states(3, 3, 10);
  CHECK(counts.rays == 10);
  CHECK(counts.changed == 10);
  CHECK(counts.weakly_active > 5);  // the states are degenerate
}

// [long]: every theta and ray (25 000 solves; a minute in the sanitizer build).
TEST_CASE("The paper's MPC is solved where its active set changes: 8 thetas, 400 rays",
          "[lq_mpc][field][degenerate][long]") {
  const DegenerateCounts counts = solve_degenerate_states(0, 7, 50);
  CHECK(counts.rays == 400);
  CHECK(counts.changed > 300);        // the protocol reaches the degenerate states it is about
  CHECK(counts.weakly_active > 300);  // ... and they are degenerate
}
