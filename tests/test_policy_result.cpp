// What the LQ-MPC policy returns and how it is asked (mpc/policy_result.hpp), without an MPC:
// PolicyStatus names, LqMpcSettings' defaults and validate() (its own field and the nested QP
// and sensitivity settings, each by name), PolicyRequest's defaults, PolicyResult's "nothing
// computed yet" state, its block sizes from the template sizes and hessian(j)'s row block, and
// QValueResult. Callers branch on these defaults (a result is not ok() until evaluate() says so).
#include "rmpc/mpc/policy_result.hpp"

#include "rmpc_catch.hpp"
#include "support/thrown_message.hpp"

#include <Eigen/Core>

#include <string>

namespace {
using rmpc::mpc::LqMpcSettings;
using rmpc::mpc::PolicyRequest;
using rmpc::mpc::PolicyResult;
using rmpc::mpc::PolicyStatus;
using rmpc::mpc::QValueResult;
using rmpc::testing::thrown_message;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}
}  // namespace

TEST_CASE("PolicyStatus names every value by its enumerator", "[policy_result]") {
  CHECK(std::string(to_string(PolicyStatus::ok)) == "ok");
  CHECK(std::string(to_string(PolicyStatus::weakly_active)) == "weakly_active");
  CHECK(std::string(to_string(PolicyStatus::sensitivity_failed)) == "sensitivity_failed");
  CHECK(std::string(to_string(PolicyStatus::solver_failed)) == "solver_failed");
  CHECK(std::string(to_string(PolicyStatus::not_ready)) == "not_ready");
  CHECK(std::string(to_string(static_cast<PolicyStatus>(42))) == "unknown");
}

TEST_CASE("LqMpcSettings defaults prepare second order and are valid", "[policy_result]") {
  const LqMpcSettings<double> s;
  CHECK(s.derivative_order == 2);
  CHECK_NOTHROW(s.validate());
  CHECK(s.qp.max_iterations == rmpc::qp::Settings<double>().max_iterations);
  CHECK(s.sensitivity.weak_tolerance == rmpc::qp::SensitivitySettings<double>().weak_tolerance);
  CHECK_NOTHROW(LqMpcSettings<float>().validate());
}

TEST_CASE("LqMpcSettings::validate names its own and the nested settings' fields",
          "[policy_result]") {
  LqMpcSettings<double> s;
  for (const int order : {0, 1, 2}) {
    s.derivative_order = order;
    CHECK_NOTHROW(s.validate());
  }
  s.derivative_order = 3;
  CHECK(thrown_message([&] { s.validate(); }) ==
        "LqMpcSettings::derivative_order must be 0, 1 or 2 (got 3)");
  s.derivative_order = -1;
  CHECK(thrown_message([&] { s.validate(); }) ==
        "LqMpcSettings::derivative_order must be 0, 1 or 2 (got -1)");

  s = LqMpcSettings<double>();
  s.qp.certificate_tolerance = 0.0;
  CHECK(contains(thrown_message([&] { s.validate(); }), "qp::Settings::certificate_tolerance"));
  s = LqMpcSettings<double>();
  s.sensitivity.weak_tolerance = 1.0;
  CHECK(contains(thrown_message([&] { s.validate(); }), "SensitivitySettings::weak_tolerance"));

  // The QP settings are checked first, then the sensitivity's, then derivative_order.
  s.qp.max_iterations = -1;
  s.derivative_order = 7;
  CHECK(contains(thrown_message([&] { s.validate(); }), "qp::Settings::max_iterations"));
  s.qp.max_iterations = 0;
  CHECK(contains(thrown_message([&] { s.validate(); }), "SensitivitySettings::weak_tolerance"));
  s.sensitivity.weak_tolerance = 0.0;
  CHECK(contains(thrown_message([&] { s.validate(); }), "LqMpcSettings::derivative_order"));
}

TEST_CASE("PolicyRequest asks for the policy derivatives and a warm start by default",
          "[policy_result]") {
  const PolicyRequest r;
  CHECK(r.du0_dtheta);
  CHECK(r.d2u0_dtheta2);
  CHECK(r.du0_ds);
  CHECK_FALSE(r.dz_dtheta);
  CHECK(r.warm_start);
}

TEST_CASE("PolicyResult starts as nothing computed; ok() reads status", "[policy_result]") {
  PolicyResult<double, 2, 1, 3, 2, 3, 14> r;
  CHECK(r.status == PolicyStatus::not_ready);
  CHECK(r.qp_status == rmpc::qp::Status::invalid_input);
  CHECK(r.sensitivity_status == rmpc::qp::SensitivityStatus::not_solved);
  CHECK(r.state_sensitivity_status == rmpc::qp::SensitivityStatus::not_solved);
  CHECK(r.cost == 0.0);
  CHECK(r.iterations == 0);
  CHECK_FALSE(r.ok());
  r.status = PolicyStatus::ok;
  CHECK(r.ok());
  r.status = PolicyStatus::weakly_active;  // solved, but derivatives one-sided: not ok()
  CHECK_FALSE(r.ok());
}

TEST_CASE("PolicyResult blocks take their sizes from the template sizes", "[policy_result]") {
  // NX = 2, NU = 1, N = 3, NP = 2, NZ = 3 + 2 slacks, M = 14 rows, NS = 2.
  using R = PolicyResult<double, 2, 1, 3, 2, 5, 14, 2>;
  R r;
  CHECK(r.u0.size() == 1);
  CHECK(r.u.size() == 3);  // N NU
  CHECK(r.slack.size() == 2);
  CHECK((r.x.rows() == 2 && r.x.cols() == 4));  // x_0..x_N
  CHECK((r.du0_dtheta.rows() == 1 && r.du0_dtheta.cols() == 2));
  CHECK((r.d2u0_dtheta2.rows() == 2 && r.d2u0_dtheta2.cols() == 2));  // NU NP x NP
  CHECK((r.du0_ds.rows() == 1 && r.du0_ds.cols() == 2));
  CHECK((r.dz_dtheta.rows() == 5 && r.dz_dtheta.cols() == 2));
  CHECK(r.row_state.size() == 14);
  static_assert(decltype(R::u)::RowsAtCompileTime == 3);
  static_assert(decltype(R::x)::ColsAtCompileTime == 4);
  static_assert(decltype(R::d2u0_dtheta2)::RowsAtCompileTime == 2);

  // Without slacks NS defaults to 0; dynamic sizes stay dynamic.
  const PolicyResult<double, 2, 1, 3, 2, 3, 14> no_slack;
  CHECK(no_slack.slack.size() == 0);
  using D =
      PolicyResult<double, Eigen::Dynamic, 2, Eigen::Dynamic, 3, Eigen::Dynamic, Eigen::Dynamic>;
  static_assert(decltype(D::u)::RowsAtCompileTime == Eigen::Dynamic);
  static_assert(decltype(D::x)::ColsAtCompileTime == Eigen::Dynamic);
  static_assert(decltype(D::d2u0_dtheta2)::RowsAtCompileTime == 6);
}

TEST_CASE("hessian(j) is the np x np row block j of d2u0_dtheta2", "[policy_result]") {
  PolicyResult<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic,
               Eigen::Dynamic, Eigen::Dynamic>
      r;
  const Eigen::Index nu = 2, np = 3;
  r.du0_dtheta.setZero(nu, np);
  r.d2u0_dtheta2.resize(nu * np, np);
  for (Eigen::Index i = 0; i < nu * np; ++i)
    for (Eigen::Index j = 0; j < np; ++j) r.d2u0_dtheta2(i, j) = double(10 * i + j);
  const Eigen::MatrixXd h0 = r.hessian(0), h1 = r.hessian(1);
  REQUIRE((h1.rows() == np && h1.cols() == np));
  CHECK(h0 == r.d2u0_dtheta2.topRows(3));
  CHECK(h1(0, 0) == 30.0);  // row 1 * np + 0
  CHECK(h1(2, 1) == 51.0);  // row 1 * np + 2, column 1
  CHECK(h1 == r.d2u0_dtheta2.bottomRows(3));

  PolicyResult<double, 2, 2, 3, 1, 6, 12> one_param;  // np = 1: hessian(j) is 1 x 1
  one_param.d2u0_dtheta2 << 4.0, -5.0;
  CHECK(one_param.hessian(0)(0, 0) == 4.0);
  CHECK(one_param.hessian(1)(0, 0) == -5.0);
}

TEST_CASE("QValueResult starts invalid; ok() means the QP was optimal", "[policy_result]") {
  QValueResult<double, 2, 1, 3> q;
  CHECK(q.status == rmpc::qp::Status::invalid_input);
  CHECK(q.cost == 0.0);
  CHECK_FALSE(q.ok());
  CHECK(q.u.size() == 3);
  CHECK((q.x.rows() == 2 && q.x.cols() == 4));
  q.status = rmpc::qp::Status::optimal;
  CHECK(q.ok());
  q.status = rmpc::qp::Status::max_iterations;
  CHECK_FALSE(q.ok());
  const QValueResult<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic> dyn;
  CHECK(dyn.u.size() == 0);
}
