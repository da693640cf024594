// DPG estimator (rl/policy_gradient.hpp, method.md section 4) on a toy problem with known
// derivatives: a policy quadratic in theta with two inputs and a quadratic Q. The exact
// Hessian estimate must equal the Hessian of J(theta) = mean_i Q(s_i, pi_theta(s_i)) (checked
// by central differences of J), the gradient its gradient, and Gauss-Newton the second term.
#include "rmpc/rl/policy_gradient.hpp"

#include "rmpc_catch.hpp"

#include <Eigen/Dense>

#include <random>
#include <vector>

namespace {

constexpr int np = 3, nu = 2;
using Theta = Eigen::Matrix<double, np, 1>;
using Mat = Eigen::MatrixXd;

// pi_j(s, theta) = f_j(s)' theta + theta' M_j(s) theta / 2, Q(s, a) = a' W a / 2 + w(s)' a.
struct Toy {
  std::vector<double> s;
  Eigen::Matrix2d W;
  Toy() {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> u(-1, 1);
    for (int i = 0; i < 25; ++i) s.push_back(u(rng));
    W << 2.0, 0.3, 0.3, 1.0;
  }
  static Eigen::Vector3d f(int j, double s) {
    return j == 0 ? Eigen::Vector3d(s, 1.0, s * s) : Eigen::Vector3d(1.0, -s, 0.5);
  }
  static Eigen::Matrix3d M(int j, double s) {
    Eigen::Matrix3d m;
    if (j == 0)
      m << s, 0.2, 0, 0.2, -1.0, s, 0, s, 0.5;
    else
      m << 0.3, -s, 0.1, -s, s * s, 0, 0.1, 0, -0.7;
    return m;
  }
  static Eigen::Vector2d w(double s) { return Eigen::Vector2d(s - 0.2, 0.5 * s); }
  Eigen::Vector2d pi(double si, const Theta& t) const {
    Eigen::Vector2d a;
    for (int j = 0; j < nu; ++j) a(j) = f(j, si).dot(t) + 0.5 * t.dot(M(j, si) * t);
    return a;
  }
  double J(const Theta& t) const {
    double sum = 0;
    for (double si : s) {
      const Eigen::Vector2d a = pi(si, t);
      sum += 0.5 * a.dot(W * a) + w(si).dot(a);
    }
    return sum / double(s.size());
  }
  template <class Est>
  void accumulate(Est& est, const Theta& t) const {
    for (double si : s) {
      Eigen::Matrix<double, nu, np> dpi;
      Mat d2pi(nu * np, np);
      for (int j = 0; j < nu; ++j) {
        dpi.row(j) = (f(j, si) + M(j, si) * t).transpose();
        d2pi.middleRows(j * np, np) = M(j, si);
      }
      const Eigen::Vector2d a = pi(si, t);
      const Eigen::Vector2d dq = W * a + w(si);
      est.add(dpi, d2pi, dq, W);
    }
  }
};

}  // namespace

TEST_CASE("DPG gradient and exact Hessian equal the derivatives of the sample-mean J",
          "[policy_gradient]") {
  const Toy toy;
  const Theta t(0.4, -0.3, 0.8);
  rmpc::rl::DpgEstimator<double, np, nu> est(np, rmpc::rl::HessianMode::exact);
  toy.accumulate(est, t);
  REQUIRE(est.count() == Eigen::Index(toy.s.size()));
  const double h = 1e-5;
  Theta g_fd;
  Eigen::Matrix3d H_fd;
  for (int i = 0; i < np; ++i) {
    const Theta e = Theta::Unit(i) * h;
    g_fd(i) = (toy.J(t + e) - toy.J(t - e)) / (2 * h);
    for (int j = 0; j < np; ++j) {
      const Theta d = Theta::Unit(j) * h;
      H_fd(i, j) =
          (toy.J(t + e + d) - toy.J(t + e - d) - toy.J(t - e + d) + toy.J(t - e - d)) / (4 * h * h);
    }
  }
  INFO("g = " << est.gradient().transpose() << "\ng_fd = " << g_fd.transpose());
  CHECK((est.gradient() - g_fd).norm() < 1e-8 * (1 + g_fd.norm()));
  INFO("H =\n" << est.hessian() << "\nH_fd =\n" << H_fd);
  CHECK((est.hessian() - H_fd).norm() < 1e-5 * (1 + H_fd.norm()));
  CHECK(est.hessian().isApprox(est.hessian().transpose(), 1e-14));
}

TEST_CASE("Gauss-Newton keeps only dpi' d2Q/da2 dpi; mode none gives the gradient only",
          "[policy_gradient]") {
  const Toy toy;
  const Theta t(-0.2, 0.7, 0.1);
  rmpc::rl::DpgEstimator<double, np, nu> exact(np, rmpc::rl::HessianMode::exact),
      gn(np, rmpc::rl::HessianMode::gauss_newton), none(np, rmpc::rl::HessianMode::none);
  toy.accumulate(exact, t);
  toy.accumulate(gn, t);
  toy.accumulate(none, t);
  // Hand-computed Gauss-Newton mean and first term.
  Eigen::Matrix3d gn_ref = Eigen::Matrix3d::Zero(), first = Eigen::Matrix3d::Zero();
  for (double si : toy.s) {
    Eigen::Matrix<double, nu, np> dpi;
    for (int j = 0; j < nu; ++j) dpi.row(j) = (Toy::f(j, si) + Toy::M(j, si) * t).transpose();
    gn_ref += dpi.transpose() * toy.W * dpi;
    const Eigen::Vector2d dq = toy.W * toy.pi(si, t) + Toy::w(si);
    first += dq(0) * Toy::M(0, si) + dq(1) * Toy::M(1, si);
  }
  gn_ref /= double(toy.s.size());
  first /= double(toy.s.size());
  CHECK((gn.hessian() - gn_ref).norm() < 1e-12);
  CHECK((exact.hessian() - gn.hessian() - first).norm() < 1e-12);
  CHECK(first.norm() > 0.1);                                // the toy exercises the first term
  CHECK(gn_ref.eigenvalues().real().minCoeff() >= -1e-12);  // W SPD -> GN PSD
  CHECK((none.gradient() - exact.gradient()).norm() == 0.0);
  CHECK(none.hessian().norm() == 0.0);
}

TEST_CASE("Skipped samples are counted and left out of the means", "[policy_gradient]") {
  rmpc::rl::DpgEstimator<double> est(2, rmpc::rl::HessianMode::gauss_newton);
  Eigen::Matrix<double, 1, 2> dpi(1.0, 2.0);
  Eigen::Matrix<double, 1, 1> dq(3.0), d2q(2.0);
  est.add(dpi, Mat(), dq, d2q);
  est.skip();
  est.add(dpi, Mat(), dq, d2q);
  CHECK(est.count() == 2);
  CHECK(est.skipped() == 1);
  CHECK(est.gradient()(1) == Approx(6.0));
  CHECK(est.hessian()(0, 1) == Approx(4.0));
  CHECK_THROWS_AS(est.add(Eigen::Matrix<double, 1, 3>::Ones(), Mat(), dq, d2q),
                  std::invalid_argument);
}
