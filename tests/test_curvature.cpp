// Curvature models: absolute-eigenvalue regularisation and BFGS secant updates with Powell
// damping / skipping (N&W eq. 6.19, Procedure 18.2).
#include <rmpc/optim/curvature.hpp>

#include "rmpc_catch.hpp"

#include <Eigen/Dense>

#include <random>

using namespace rmpc::optim;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

namespace {
Mat random_matrix(std::mt19937_64& rng, Eigen::Index n) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Mat A(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) A(i, j) = normal(rng);
  return A;
}
Vec random_vector(std::mt19937_64& rng, Eigen::Index n) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Vec v(n);
  for (Eigen::Index i = 0; i < n; ++i) v(i) = normal(rng);
  return v;
}
double min_eigenvalue(const Mat& B) {
  return Eigen::SelfAdjointEigenSolver<Mat>(B).eigenvalues().minCoeff();
}
}  // namespace

TEST_CASE("absolute-eigenvalue regularisation", "[curvature]") {
  std::mt19937_64 rng(1);
  Mat A = random_matrix(rng, 5);
  const Mat B = 0.5 * (A + A.transpose());
  REQUIRE(min_eigenvalue(B) < 0);
  Mat R;
  REQUIRE(regularise_absolute_eigenvalues<double, Eigen::Dynamic>(B, 0.0, R));
  Eigen::SelfAdjointEigenSolver<Mat> eb(B), er(R);
  Vec expected = eb.eigenvalues().cwiseAbs();
  std::sort(expected.data(), expected.data() + expected.size());
  CHECK((er.eigenvalues() - expected).norm() < 1e-12);
  CHECK((R * B - B * R).norm() < 1e-12);  // same eigenvectors: the matrices commute
  CHECK((R - R.transpose()).norm() < 1e-14);
  // PD input is unchanged; the floor lifts small eigenvalues.
  const Mat P = A * A.transpose() + Mat::Identity(5, 5);
  REQUIRE(regularise_absolute_eigenvalues<double, Eigen::Dynamic>(P, 0.0, R));
  CHECK((R - P).norm() < 1e-12 * P.norm());
  Eigen::Matrix2d S;
  S << 1e-12, 0, 0, -3;
  Eigen::Matrix2d Rs;
  REQUIRE(regularise_absolute_eigenvalues<double, 2>(S, 1e-3, Rs));
  CHECK(Rs(0, 0) == Approx(1e-3));
  CHECK(Rs(1, 1) == Approx(3.0));
  S(0, 1) = S(1, 0) = std::nan("");
  CHECK_FALSE(regularise_absolute_eigenvalues<double, 2>(S, 0.0, Rs));
}

TEST_CASE("BFGS: secant equation, symmetry and positive definiteness", "[curvature]") {
  std::mt19937_64 rng(2);
  const Eigen::Index n = 4;
  Mat A = random_matrix(rng, n);
  const Mat Hq = A * A.transpose() + 0.1 * Mat::Identity(n, n);  // quadratic's Hessian: y = Hq s
  BfgsModel<double> bfgs;
  bfgs.reset(n);
  CHECK(bfgs.hessian() == Mat::Identity(n, n));
  for (int k = 0; k < 20; ++k) {
    const Vec s = random_vector(rng, n);
    const Vec y = Hq * s;
    const auto kind = bfgs.update(s, y);
    CHECK((kind == BfgsUpdate::updated || kind == BfgsUpdate::damped));
    if (kind == BfgsUpdate::updated)
      CHECK((bfgs.hessian() * s - y).norm() <= 1e-9 * y.norm());  // B+ s = y
    CHECK((bfgs.hessian() - bfgs.hessian().transpose()).norm() == 0.0);
    CHECK(min_eigenvalue(bfgs.hessian()) > 0);
  }
  CHECK(bfgs.updates() == 20);
  // Secant pairs along the eigenvectors of the quadratic's Hessian (mutually Hq-conjugate)
  // rebuild it exactly after n updates: each update fixes one eigen-direction, keeps the rest.
  Eigen::SelfAdjointEigenSolver<Mat> eig(Hq);
  bfgs.reset(n);
  for (Eigen::Index i = 0; i < n; ++i)
    REQUIRE(bfgs.update(eig.eigenvectors().col(i), Hq * eig.eigenvectors().col(i)) ==
            BfgsUpdate::updated);
  CHECK((bfgs.hessian() - Hq).norm() < 1e-12 * Hq.norm());
}

TEST_CASE("BFGS: initial scaling (N&W eq. 6.20)", "[curvature]") {
  BfgsModel<double, 2> bfgs;
  const Eigen::Vector2d s(1.0, 0.0), y(5.0, 0.0);
  CHECK(bfgs.update(s, y) == BfgsUpdate::updated);
  // B0 = (y'y / s'y) I = 5 I, then the update keeps 5 on e1: B = 5 I.
  CHECK((bfgs.hessian() - 5.0 * Eigen::Matrix2d::Identity()).norm() < 1e-14);
}

TEST_CASE("BFGS: Powell damping and skipping when s'y is not positive enough", "[curvature]") {
  const Eigen::Vector2d s(1.0, 1.0), y(-1.0, 0.5);  // s'y = -0.5 < 0
  BfgsSettings<double> set;
  set.scale_initial = false;
  {
    BfgsModel<double, 2> bfgs(set);
    const Eigen::Matrix2d B0 = bfgs.hessian();
    CHECK(bfgs.update(s, y) == BfgsUpdate::damped);
    // r = t y + (1 - t) B0 s with s'r = 0.2 s'B0 s; B+ s = r and B+ stays PD.
    const double sBs = s.dot(B0 * s);
    const double t = 0.8 * sBs / (sBs - s.dot(y));
    const Eigen::Vector2d r = t * y + (1 - t) * B0 * s;
    CHECK(s.dot(r) == Approx(0.2 * sBs));
    CHECK((bfgs.hessian() * s - r).norm() < 1e-12);
    CHECK(min_eigenvalue(bfgs.hessian()) > 0);
  }
  {
    set.powell_damping = false;
    BfgsModel<double, 2> bfgs(set);
    CHECK(bfgs.update(s, y) == BfgsUpdate::skipped);
    CHECK(bfgs.hessian() == Eigen::Matrix2d::Identity());
    CHECK(bfgs.update(Eigen::Vector2d::Zero(), y) == BfgsUpdate::skipped);
    CHECK(bfgs.update(s, Eigen::Vector2d(std::nan(""), 0)) == BfgsUpdate::non_finite);
    CHECK(bfgs.updates() == 0);
  }
  BfgsModel<double> dyn;
  dyn.reset(3);
  CHECK_THROWS_AS(dyn.update(Vec::Ones(2), Vec::Ones(3)), std::invalid_argument);
}
