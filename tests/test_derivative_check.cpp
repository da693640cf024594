// The library's derivative checker (rmpc/mpc/derivative_check.hpp) on the paper's MPC: small
// errors where the derivatives are right, the error and the coordinate of a deliberately
// wrong first and second derivative, an active-set change within the step reported (not
// counted as an error), a failed policy reported, and a bad step named.
#include "rmpc/mpc/derivative_check.hpp"

#include "../examples/linear_2d/paper_model.hpp"
#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <cmath>
#include <limits>

namespace {

using linear_2d::PaperModel;
using linear_2d::PaperMpc;
using rmpc::mpc::DerivativeCheckStatus;

// The paper's MPC with one derivative entry off by `error` (a user's wrong functor in small).
struct WrongDerivativeMpc {
  PaperMpc mpc{PaperModel{}};
  double first = 0, second = 0;
  template <class T>
  rmpc::qp::Status set_parameters(const T& theta) {
    return mpc.set_parameters(theta);
  }
  template <class S>
  PaperMpc::Result evaluate(const S& s, const rmpc::mpc::PolicyRequest& request) {
    PaperMpc::Result r = mpc.evaluate(s, request);
    r.du0_dtheta(0, 2) += first;
    r.d2u0_dtheta2(4, 6) += second;  // input 0: Hessian entry (4, 6)
    return r;
  }
};

}  // namespace

TEST_CASE("derivative check: the paper's MPC passes at an interior and an active state",
          "[derivative_check]") {
  PaperMpc mpc(PaperModel{});
  for (const Eigen::Vector2d& s :
       {Eigen::Vector2d(0.30882, -0.13558), Eigen::Vector2d(0.05, -0.2)}) {
    INFO("s = " << s.transpose());
    const auto c = rmpc::mpc::check_policy_derivatives(mpc, s, linear_2d::theta0());
    CHECK(c.status == DerivativeCheckStatus::ok);
    CHECK(c.skipped_coordinates == 0);
    CHECK(c.du0_dtheta_error < 1e-7);
    CHECK(c.d2u0_dtheta2_error < 1e-5);
    CHECK(c.du0_ds_error < 1e-7);
    CHECK(mpc.parameters() == linear_2d::theta0());  // left set up at theta
  }
}

TEST_CASE("derivative check: finds a wrong first and a wrong second derivative",
          "[derivative_check]") {
  WrongDerivativeMpc wrong;
  wrong.first = 1e-3;
  const Eigen::Vector2d s(0.30882, -0.13558);
  auto c = rmpc::mpc::check_policy_derivatives(wrong, s, linear_2d::theta0());
  CHECK(c.status == DerivativeCheckStatus::ok);
  CHECK(c.du0_dtheta_error == Approx(1e-3).epsilon(1e-3));
  CHECK(c.worst_theta == 2);
  CHECK(c.max_error() >= 1e-3 * (1 - 1e-3));
  wrong.first = 0;
  wrong.second = 1e-2;
  c = rmpc::mpc::check_policy_derivatives(wrong, s, linear_2d::theta0());
  CHECK(c.du0_dtheta_error < 1e-7);
  CHECK(c.d2u0_dtheta2_error == Approx(1e-2).epsilon(1e-2));
}

TEST_CASE("derivative check: an active-set change within the step is reported, a failed policy too",
          "[derivative_check]") {
  PaperMpc mpc(PaperModel{});
  // Steps of 0.3 (1 + |theta_i|) move the active set of this state.
  rmpc::mpc::DerivativeCheckSettings<double> big;
  big.step = 0.3;
  const auto c = rmpc::mpc::check_policy_derivatives(mpc, Eigen::Vector2d(0.53053, 0.185),
                                                     linear_2d::theta0(), big);
  CHECK(c.status == DerivativeCheckStatus::active_set_changed);
  CHECK(c.skipped_coordinates > 0);

  Eigen::Matrix<double, 8, 1> bad = linear_2d::theta0();
  bad(0) = std::numeric_limits<double>::quiet_NaN();
  const auto f = rmpc::mpc::check_policy_derivatives(mpc, Eigen::Vector2d(0.3, 0.1), bad);
  CHECK(f.status == DerivativeCheckStatus::policy_failed);

  rmpc::mpc::DerivativeCheckSettings<double> zero;
  zero.step = 0;
  CHECK(rmpc::testing::thrown_message([&] { zero.validate(); }) ==
        "DerivativeCheckSettings::step must be in (0, 1) (got 0)");
}
