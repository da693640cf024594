// rl/model_diagnosis.hpp on a toy problem whose k-step Q is known in closed form: x+ = x + u
// (2-D), L = x'x + u'Wu with a non-diagonal W (mixed second differences), the affine policy
// u = -t0 x - t1 (1, 1). Q_3 is quadratic in a, so the central differences must match the
// analytic dQ/da and d2Q/da2 to round-off; an exact critic must then agree with the truth and
// a critic with the wrong sign must be reported as pointing the other way.
#include "rmpc/rl/model_diagnosis.hpp"

#include "rmpc_catch.hpp"

#include <Eigen/Core>

#include <cmath>
#include <stdexcept>
#include <string>

namespace {

using V2 = Eigen::Vector2d;
using M2 = Eigen::Matrix2d;
constexpr double gamma_toy = 0.9;

M2 weight() { return (M2() << 1.0, 0.3, 0.3, 2.0).finished(); }

struct ToyEnv {
  V2 step(const V2& s, const V2& a) const { return s + a; }
  double cost(const V2& s, const V2& a) const { return s.squaredNorm() + a.dot(weight() * a); }
};

struct ToySizes {
  Eigen::Index np = 2;
};

struct ToyResult {
  rmpc::mpc::PolicyStatus status = rmpc::mpc::PolicyStatus::ok;
  rmpc::qp::Status qp_status = rmpc::qp::Status::optimal;
  V2 u0;
  Eigen::Matrix2d du0_dtheta;                // nu x np
  Eigen::Matrix<double, 4, 2> d2u0_dtheta2;  // affine in theta: zero
};

struct ToyMpc {
  using VectorX = V2;
  using VectorU = V2;
  using VectorTheta = Eigen::Vector2d;
  VectorTheta theta = VectorTheta(0.4, 0.1);
  ToyResult r;
  ToySizes sizes() const { return {}; }
  V2 policy(const V2& x) const { return -theta(0) * x - theta(1) * V2::Ones(); }
  const ToyResult& evaluate(const V2& x, const rmpc::mpc::PolicyRequest&) {
    r.u0 = policy(x);
    r.du0_dtheta.col(0) = -x;
    r.du0_dtheta.col(1) = -V2::Ones();
    r.d2u0_dtheta2.setZero();
    return r;
  }
};

// The analytic Q_3 derivatives of the toy at (s, a) (gamma_toy, policy of ToyMpc).
void exact_derivatives(const ToyMpc& mpc, const V2& s, const V2& a, V2& dq, M2& d2q) {
  const double t0 = mpc.theta(0);
  const M2 W = weight(), I = M2::Identity();
  const V2 s1 = s + a, u1 = mpc.policy(s1), s2 = s1 + u1, u2 = mpc.policy(s2);
  const double g = gamma_toy, g2 = g * g;
  dq = 2 * W * a + g * (2 * s1 - 2 * t0 * W * u1) +
       g2 * (2 * (1 - t0) * s2 - 2 * t0 * (1 - t0) * W * u2);
  d2q = 2 * W + g * (2 * I + 2 * t0 * t0 * W) +
        g2 * (2 * (1 - t0) * (1 - t0) * I + 2 * t0 * t0 * (1 - t0) * (1 - t0) * W);
}

// A critic with FittedQ's action_derivatives contract: the exact derivatives times `sign`.
struct ToyCritic {
  const ToyMpc* mpc;
  double sign = 1.0;
  void operator()(const Eigen::Ref<const Eigen::MatrixXd>& s,
                  const Eigen::Ref<const Eigen::MatrixXd>& /*a_prev*/,
                  const Eigen::Ref<const Eigen::MatrixXd>& a, Eigen::VectorXd& q,
                  Eigen::MatrixXd& dq, Eigen::MatrixXd& d2q) const {
    q.setZero(s.cols());
    dq.resize(2, s.cols());
    d2q.resize(4, s.cols());
    for (Eigen::Index i = 0; i < s.cols(); ++i) {
      V2 g;
      M2 h;
      exact_derivatives(*mpc, s.col(i), a.col(i), g, h);
      dq.col(i) = sign * g;
      d2q.col(i) = sign * Eigen::Map<const Eigen::Vector4d>(h.data());
    }
  }
};

rmpc::learn::ReplayBuffer<double> toy_memory() {
  rmpc::learn::ReplayBuffer<double> buffer(2, 2, 10);
  V2 s(0.8, -0.5), a_prev = V2::Zero();
  for (int i = 0; i < 40; ++i) {  // 8 episodes of 5 steps
    const V2 a = V2(std::sin(0.7 * i), std::cos(1.3 * i)) * 0.3;
    const V2 next = ToyEnv{}.step(s, a);
    buffer.push(s, a_prev, a, ToyEnv{}.cost(s, a), next, false);
    a_prev = a;
    s = next * 0.5 + V2(0.1 * std::cos(double(i)), 0.05);
    if (i % 5 == 4) {
      buffer.end_episode();
      a_prev.setZero();
    }
  }
  return buffer;
}

}  // namespace

TEST_CASE("diagnose_critic: true k-step derivatives by rollouts match the closed form",
          "[model_diagnosis]") {
  ToyMpc mpc;
  const auto buffer = toy_memory();
  ToyCritic exact{&mpc, 1.0};
  rmpc::rl::DiagnosisSettings<double> settings;
  settings.max_samples = 27;  // whole episodes: 5 of the 8 (drawn with settings.seed)
  const auto d = rmpc::rl::diagnose_critic(ToyEnv{}, mpc, buffer, exact, 3, gamma_toy,
                                           rmpc::rl::HessianMode::exact, settings);
  REQUIRE(d.status == rmpc::rl::DiagnosisStatus::ok);
  CHECK(d.samples == 25);
  CHECK(d.skipped == 0);
  CHECK(d.dq_relative_error < 1e-8);
  CHECK(d.dq_cosine > 1 - 1e-12);
  CHECK(d.d2q_relative_error < 1e-5);
  CHECK(d.gradient_cosine > 1 - 1e-12);
  CHECK(d.hessian_relative_error < 1e-5);
  CHECK(d.gradient_true.norm() > 0.1);

  // The wrong sign: the diagnosis must say the critic's gradient points the other way.
  ToyCritic flipped{&mpc, -1.0};
  const auto w = rmpc::rl::diagnose_critic(ToyEnv{}, mpc, buffer, flipped, 3, gamma_toy,
                                           rmpc::rl::HessianMode::exact, settings);
  CHECK(w.dq_cosine < -1 + 1e-12);
  CHECK(w.gradient_cosine < -1 + 1e-12);
  CHECK(std::abs(w.dq_relative_error - 2.0) < 1e-8);
  CHECK((w.gradient_true - d.gradient_true).norm() < 1e-12);  // the truth does not depend on it
}

TEST_CASE("diagnose_critic: an empty memory and settings out of range", "[model_diagnosis]") {
  ToyMpc mpc;
  ToyCritic exact{&mpc, 1.0};
  const rmpc::learn::ReplayBuffer<double> empty(2, 2, 10);
  const auto d = rmpc::rl::diagnose_critic(ToyEnv{}, mpc, empty, exact, 3, gamma_toy,
                                           rmpc::rl::HessianMode::none);
  CHECK(d.status == rmpc::rl::DiagnosisStatus::no_samples);
  CHECK(std::isnan(d.dq_cosine));
  const auto message = [](const rmpc::rl::DiagnosisSettings<double>& s) {
    try {
      s.validate();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  rmpc::rl::DiagnosisSettings<double> bad;
  bad.max_samples = 0;
  CHECK(message(bad).find("DiagnosisSettings::max_samples") != std::string::npos);
  bad = {};
  bad.action_step = 0;
  CHECK(message(bad).find("DiagnosisSettings::action_step") != std::string::npos);
  CHECK(message({}).empty());
}

TEST_CASE("closed_loop_gradient: central differences of a quadratic are exact",
          "[model_diagnosis]") {
  const Eigen::Matrix3d A = (Eigen::Matrix3d() << 2, 0.5, 0, 0.5, 1, 0.2, 0, 0.2, 3).finished();
  const Eigen::Vector3d theta(0.3, -2.0, 5.0);
  const auto g = rmpc::rl::closed_loop_gradient(
      theta, [&](const Eigen::Vector3d& t) { return t.dot(A * t); }, 1e-4);
  CHECK((g - 2 * A * theta).norm() < 1e-8 * (2 * A * theta).norm());
  const auto failed = rmpc::rl::closed_loop_gradient(
      theta, [&](const Eigen::Vector3d& t) { return t(1) > -2.0 ? NAN : t.sum(); }, 1e-4);
  CHECK(std::isnan(failed(1)));
  CHECK(std::abs(failed(0) - 1.0) < 1e-8);  // the other entries are unaffected
  CHECK(std::abs(failed(2) - 1.0) < 1e-8);
}
