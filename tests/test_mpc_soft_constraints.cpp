// Soft constraints of the LQ-MPC (model.hpp): quadratic (+ L1) penalties through slack
// variables and exact-L1 rows with theta-dependent weights.
//  * The slack QP minimizes the penalized cost of the model (independent check: the rollout
//    cost with w v + rho v^2 is not lowered by any perturbation of the inputs) and its slacks
//    equal the predicted violations.
//  * A tiny quadratic weight reproduces the exact-L1 row solution (the two mechanisms agree).
//  * du0/dtheta, d2u0/dtheta2, du0/ds against central differences at states with positive
//    slacks, and at saturated L1 rows whose weight depends on theta.
//  * Sizes: NS = soft_slack_count(), a mismatch is a clear error, Eigen::Dynamic counts;
//    a negative weight is a status; the fixed-size path allocates nothing.
#undef NDEBUG  // keep eigen_assert on so that EIGEN_RUNTIME_NO_MALLOC aborts on allocation
#define EIGEN_RUNTIME_NO_MALLOC
#include <Eigen/Core>

#include "rmpc/mpc/lq_mpc.hpp"

#include "rmpc_catch.hpp"
#include "support/mpc_fd.hpp"

#include <random>

namespace {

using rmpc_test::check_against_fd;
using Vec4 = Eigen::Matrix<double, 4, 1>;
constexpr int horizon = 6;

/// A double integrator with theta in the model (t0, t1), the lower bound (t2) and both soft
/// weights (t3): w_1 = 1 + 0.5 t3 + c t3^2, rho = rho_scale (1 + 0.2 t2 t3).
struct SoftModel {
  double rho_scale = 20.0;        // 0: exact-L1 rows only
  double weight_curvature = 0.3;  // c; 0: w_1 affine in theta (no second weight derivative)
  template <class T>
  void operator()(const Eigen::Matrix<T, 4, 1>& t, rmpc::mpc::LqData<T, 2, 1, 0>& out) const {
    out.A << T(1.0) + T(0.05) * t(0), T(0.25), T(0.0), T(1.0);
    out.B << T(0.03), T(0.25) + T(0.05) * t(1);
    out.Q.setIdentity();
    out.R(0, 0) = T(0.5);
    out.P = T(3.0) * out.Q;
    out.u_lb(0) = T(-1.0);
    out.u_ub(0) = T(1.0);
    out.x_lb << T(-0.1) * t(2), T(-0.5);
    out.x_ub << T(1.0), T(0.5);
    out.x_soft_weight << T(1.0) + T(0.5) * t(3) + T(weight_curvature) * t(3) * t(3), T(2.0);
    out.x_soft_quadratic << T(rho_scale) * (T(1.0) + T(0.2) * t(2) * t(3)), T(rho_scale);
  }
};

constexpr int slacks = rmpc::mpc::soft_slack_count(horizon, 2);
using SlackMpc = rmpc::mpc::LqMpc<double, 2, 1, horizon, 4, 0, slacks>;
using L1Mpc = rmpc::mpc::LqMpc<double, 2, 1, horizon, 4>;
using DynSlackMpc = rmpc::mpc::LqMpc<double, 2, 1, horizon, 4, 0, Eigen::Dynamic>;

Vec4 theta_ref() { return (Vec4() << 0.3, -0.4, 0.8, 0.6).finished(); }

/// Penalized model cost of inputs u from s (rollout() evaluates w v + rho v^2).
template <class Mpc>
double model_cost(const Mpc& mpc, const Eigen::Vector2d& s, const Eigen::VectorXd& u) {
  Eigen::Matrix<double, 2, horizon + 1> x;
  return mpc.rollout(s, u, x);
}

/// First state of a grid whose policy has status ok and satisfies `want`.
template <class Mpc, class Want>
bool find_state(Mpc& mpc, Want want, Eigen::Vector2d& found) {
  for (double x1 = -0.6; x1 <= 0.6; x1 += 0.0731)
    for (double x2 = -1.2; x2 <= 1.2; x2 += 0.0917) {
      const Eigen::Vector2d s(x1, x2);
      const auto& r = mpc.evaluate(s);
      if (r.status == rmpc::mpc::PolicyStatus::ok && want(r)) {
        found = s;
        return true;
      }
    }
  return false;
}

}  // namespace

TEST_CASE("Slack sizes: soft_slack_count, mismatch error, dynamic count", "[lq_mpc][soft]") {
  STATIC_REQUIRE(slacks == 10);
  STATIC_REQUIRE(SlackMpc::NZ == horizon + 10);
  STATIC_REQUIRE(SlackMpc::M == rmpc::mpc::CondensedSizes<2, 1, horizon, 0>::m + 10);
  SlackMpc mpc(SoftModel{});
  REQUIRE(mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  CHECK(mpc.num_variables() == horizon + 10);

  // The model has quadratic weights, the L1-only MPC has no room for slacks.
  L1Mpc wrong(SoftModel{});
  try {
    wrong.set_parameters(theta_ref());
    FAIL("expected std::invalid_argument");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("NS") != std::string::npos);
  }

  DynSlackMpc dyn(SoftModel{});
  REQUIRE(dyn.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  CHECK(dyn.sizes().ns == 10);
  for (const Eigen::Vector2d& s :
       {Eigen::Vector2d(0.3, -0.9), Eigen::Vector2d(-0.4, 0.2), Eigen::Vector2d(0.1, 1.1)}) {
    const auto r = mpc.evaluate(s);
    const auto& rd = dyn.evaluate(s);
    REQUIRE(r.ok());
    REQUIRE(rd.ok());
    CHECK((r.u - rd.u).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((r.du0_dtheta - rd.du0_dtheta).cwiseAbs().maxCoeff() < 1e-10);
  }
  // Dropping the quadratic weights shrinks the dynamic instance back to the L1 rows.
  SoftModel l1;
  l1.rho_scale = 0.0;
  DynSlackMpc dyn_l1(l1);
  REQUIRE(dyn_l1.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  CHECK(dyn_l1.sizes().ns == 0);
  CHECK(dyn_l1.num_variables() == horizon);
}

TEST_CASE("A negative quadratic weight is a status, not a throw", "[lq_mpc][soft]") {
  SlackMpc mpc(SoftModel{});
  Vec4 theta = theta_ref();
  theta(2) = -10.0;  // rho_1 = 20 (1 + 0.2 (-10) 0.6) < 0
  CHECK(mpc.set_parameters(theta) == rmpc::qp::Status::invalid_input);
  CHECK(mpc.evaluate(Eigen::Vector2d(0.1, 0.1)).status == rmpc::mpc::PolicyStatus::not_ready);
  CHECK(mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
}

TEST_CASE("The slack QP minimizes the penalized model cost; slacks are the violations",
          "[lq_mpc][soft]") {
  SlackMpc mpc(SoftModel{});
  REQUIRE(mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  const auto& data = mpc.data();
  std::mt19937 rng(7);
  std::normal_distribution<double> normal(0.0, 1.0);
  int with_violation = 0;
  for (const Eigen::Vector2d& s :
       {Eigen::Vector2d(0.3, -0.9), Eigen::Vector2d(0.5, -1.2), Eigen::Vector2d(-0.4, 0.2),
        Eigen::Vector2d(0.1, 1.1), Eigen::Vector2d(-0.6, -0.3)}) {
    const auto r = mpc.evaluate(s);
    REQUIRE(r.qp_status == rmpc::qp::Status::optimal);
    // Slack of component i at stage k (k = 1..N-1), numbered stage by stage.
    Eigen::Index j = 0;
    for (Eigen::Index k = 1; k < horizon; ++k)
      for (Eigen::Index i = 0; i < 2; ++i, ++j) {
        const double v = std::max({0.0, r.x(i, k) - data.x_ub(i), data.x_lb(i) - r.x(i, k)});
        CHECK(std::abs(r.slack(j) - v) < 1e-10);
        with_violation += v > 1e-6;
      }
    const Eigen::VectorXd u = r.u;
    const double best = model_cost(mpc, s, u);
    for (int trial = 0; trial < 200; ++trial) {
      Eigen::VectorXd du(horizon);
      for (Eigen::Index i = 0; i < horizon; ++i) du(i) = normal(rng);
      for (double scale : {1e-2, 1e-4}) {
        Eigen::VectorXd up =
            (u + scale * du).cwiseMax(-1.0).cwiseMin(1.0);  // inputs stay within hard bounds
        CHECK(model_cost(mpc, s, up) >= best - 1e-12);
      }
    }
  }
  CHECK(with_violation >= 3);  // the check covered positive slacks
}

TEST_CASE("A tiny quadratic weight reproduces the exact-L1 rows", "[lq_mpc][soft]") {
  SoftModel tiny;
  tiny.rho_scale = 1e-7;
  SoftModel l1;
  l1.rho_scale = 0.0;
  SlackMpc slack_mpc(tiny);
  L1Mpc l1_mpc(l1);
  REQUIRE(slack_mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  REQUIRE(l1_mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  int saturated = 0;
  for (double x1 = -0.6; x1 <= 0.6; x1 += 0.2)
    for (double x2 = -1.2; x2 <= 1.2; x2 += 0.3) {
      const Eigen::Vector2d s(x1, x2);
      const auto& a = slack_mpc.evaluate(s);
      const auto& b = l1_mpc.evaluate(s);
      REQUIRE(a.qp_status == rmpc::qp::Status::optimal);
      REQUIRE(b.qp_status == rmpc::qp::Status::optimal);
      saturated += (b.row_state.array() == std::int8_t(rmpc::qp::RowState::saturated)).any();
      INFO("s = " << s.transpose());
      // rho v^2 perturbs the L1 optimum by O(rho): 1e-7 times the violations and curvature.
      CHECK((a.u - b.u).cwiseAbs().maxCoeff() < 1e-5);
    }
  CHECK(saturated > 0);
}

TEST_CASE("Policy derivatives with slack variables match finite differences",
          "[lq_mpc][soft][derivatives]") {
  SlackMpc mpc(SoftModel{});
  REQUIRE(mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  SECTION("positive slack on the theta-weighted component x1") {
    Eigen::Vector2d s;
    REQUIRE(find_state(
        mpc, [](const auto& r) { return r.slack(0) > 1e-3 || r.slack(2) > 1e-3; }, s));
    INFO("s = " << s.transpose());
    check_against_fd(mpc, theta_ref(), s, 1e-6, 1e-6, 1e-4);
  }
  SECTION("positive slacks on both components and an active input bound") {
    Eigen::Vector2d s;
    REQUIRE(find_state(
        mpc,
        [](const auto& r) {
          return (r.slack.array() > 1e-3).count() >= 2 && std::abs(std::abs(r.u(0)) - 1.0) < 1e-12;
        },
        s));
    INFO("s = " << s.transpose());
    check_against_fd(mpc, theta_ref(), s, 1e-6, 1e-6, 1e-4);
  }
  SECTION("no soft row violated") {
    check_against_fd(mpc, theta_ref(), Eigen::Vector2d(0.2, 0.1), 1e-6, 1e-6, 1e-4);
  }
}

TEST_CASE("Policy derivatives at saturated exact-L1 rows with a theta-dependent weight",
          "[lq_mpc][soft][derivatives]") {
  SoftModel l1;
  l1.rho_scale = 0.0;
  SECTION("weight quadratic in t3") { l1.weight_curvature = 0.3; }
  SECTION("weight affine in t3") { l1.weight_curvature = 0.0; }
  L1Mpc mpc(l1);
  REQUIRE(mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  // Saturated rows of component x1 (the lower bound -0.1 t2, weight 1 + 0.5 t3): state rows
  // start after the 2 N input rows; x1's lower row of stage k is 2N + 4 (k - 1) + 2.
  Eigen::Vector2d s;
  REQUIRE(find_state(
      mpc,
      [](const auto& r) {
        for (Eigen::Index k = 1; k < horizon; ++k)
          if (r.row_state(2 * horizon + 4 * (k - 1) + 2) ==
              std::int8_t(rmpc::qp::RowState::saturated))
            return true;
        return false;
      },
      s));
  INFO("s = " << s.transpose());
  const auto r = mpc.evaluate(s);
  CHECK(r.du0_dtheta(0, 3) != 0.0);  // the weight moves the solution: the dw C' term is exercised
  check_against_fd(mpc, theta_ref(), s, 1e-6, 1e-6, 1e-4);
}

TEST_CASE("Fixed-size slack MPC evaluates without allocation", "[lq_mpc][soft][no_malloc]") {
  SlackMpc mpc(SoftModel{});
  REQUIRE(mpc.set_parameters(theta_ref()) == rmpc::qp::Status::optimal);
  const Eigen::Vector2d states[] = {{0.3, -0.9}, {0.5, -1.2}, {-0.4, 0.2}, {0.1, 1.1}};
  mpc.evaluate(states[0]);
  double sum = 0.0;
  Eigen::internal::set_is_malloc_allowed(false);
  for (const auto& s : states) {
    const auto& r = mpc.evaluate(s);
    sum += r.u0(0) + r.du0_dtheta.sum() + r.d2u0_dtheta2.sum() + r.du0_ds.sum() + r.slack.sum();
  }
  Eigen::internal::set_is_malloc_allowed(true);
  CHECK(std::isfinite(sum));
}
