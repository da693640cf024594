// The Jacobi eigen-decomposition shared by qp and optim: eigenvalues against matrices built
// with known spectra (A = Q diag(lambda) Q', Q orthonormalised by modified Gram-Schmidt, so
// no second eigensolver is the judge), residual A V - V Lambda, orthonormal V, ascending order,
// lower triangle only read, scaling to the edges of the range, NaN input, fixed and dynamic sizes.
#include <rmpc/detail/symmetric_eigen.hpp>

#include "rmpc_catch.hpp"

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using rmpc::detail::SymmetricEigen;
using Mat = Eigen::MatrixXd;
using Vec = Eigen::VectorXd;

namespace {
constexpr double eps = std::numeric_limits<double>::epsilon();

Mat random_orthonormal(std::mt19937_64& rng, Eigen::Index n) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Mat Q(n, n);
  for (Eigen::Index j = 0; j < n; ++j) {
    for (Eigen::Index i = 0; i < n; ++i) Q(i, j) = normal(rng);
    for (int pass = 0; pass < 2; ++pass)  // twice is enough (Kahan-Parlett)
      for (Eigen::Index k = 0; k < j; ++k) Q.col(j) -= Q.col(k).dot(Q.col(j)) * Q.col(k);
    Q.col(j).normalize();
  }
  return Q;
}

/// A = Q diag(lambda) Q' and the checks every decomposition must pass; returns the largest
/// eigenvalue error relative to max |lambda|.
double check_known_spectrum(const Vec& lambda, std::mt19937_64& rng) {
  const Eigen::Index n = lambda.size();
  const Mat Q = random_orthonormal(rng, n);
  Mat A = Q * lambda.asDiagonal() * Q.transpose();
  A = (0.5 * (A + A.transpose())).eval();
  SymmetricEigen<double> es;
  es.compute(A);
  REQUIRE(es.info() == Eigen::Success);
  Vec sorted = lambda;
  std::sort(sorted.data(), sorted.data() + n);
  for (Eigen::Index i = 0; i + 1 < n; ++i) CHECK(es.eigenvalues()(i) <= es.eigenvalues()(i + 1));
  const double scale = std::max(lambda.cwiseAbs().maxCoeff(), 1e-300);
  const Mat& V = es.eigenvectors();
  CHECK((V.transpose() * V - Mat::Identity(n, n)).cwiseAbs().maxCoeff() <= 50 * n * eps);
  CHECK((A * V - V * es.eigenvalues().asDiagonal()).cwiseAbs().maxCoeff() <= 50 * n * eps * scale);
  return (es.eigenvalues() - sorted).cwiseAbs().maxCoeff() / scale;
}
}  // namespace

TEST_CASE("SymmetricEigen: known spectra of random orthogonal similarity", "[symmetric_eigen]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (Eigen::Index n = 1; n <= 24; ++n) {
    Vec lambda(n);
    for (Eigen::Index i = 0; i < n; ++i) lambda(i) = u(rng);
    CHECK(check_known_spectrum(lambda, rng) <= 20 * n * eps);  // indefinite
    CHECK(check_known_spectrum(lambda.cwiseAbs(), rng) <= 20 * n * eps);
  }
}

TEST_CASE("SymmetricEigen: repeated, zero and widely spread eigenvalues", "[symmetric_eigen]") {
  std::mt19937_64 rng(11);
  Vec repeated(6);
  repeated << 2, 2, 2, -1, -1, 5;
  CHECK(check_known_spectrum(repeated, rng) <= 200 * eps);
  Vec singular(5);
  singular << 0, 0, 1, 3, 3;  // PSD, rank 3: the QP's singular_hessian case
  CHECK(check_known_spectrum(singular, rng) <= 200 * eps);
  Vec spread(8);
  spread << 1e-12, 1e-8, 1e-4, 1, 1e4, -1e-6, 1e8, 1e12;  // absolute accuracy eps * max
  CHECK(check_known_spectrum(spread, rng) <= 200 * eps);
  Vec one_negative(4);
  one_negative << 1, 1, 1, -1e-10;  // slightly non-convex: the sign must come out right
  Mat A;
  {
    const Mat Q = random_orthonormal(rng, 4);
    A = Q * one_negative.asDiagonal() * Q.transpose();
  }
  SymmetricEigen<double> es;
  es.compute(A, false);
  REQUIRE(es.info() == Eigen::Success);
  CHECK(es.eigenvalues()(0) < 0);
  CHECK(std::abs(es.eigenvalues()(0) + 1e-10) <= 50 * eps);
  CHECK_THROWS_AS(es.eigenvectors(), std::logic_error);
}

TEST_CASE("SymmetricEigen: special matrices and the lower triangle", "[symmetric_eigen]") {
  SymmetricEigen<double> es;
  es.compute(Mat::Zero(3, 3));
  REQUIRE(es.info() == Eigen::Success);
  CHECK(es.eigenvalues() == Vec::Zero(3));
  CHECK(es.eigenvectors() == Mat::Identity(3, 3));

  Mat D = Vec((Vec(4) << 3, -2, 7, 0).finished()).asDiagonal();
  es.compute(D);
  CHECK(es.eigenvalues() == (Vec(4) << -2, 0, 3, 7).finished());  // diagonal: exact

  Mat swap(2, 2);
  swap << 0, 1, 1, 0;  // zero diagonal: one 45-degree rotation
  es.compute(swap);
  CHECK(std::abs(es.eigenvalues()(0) + 1) <= 4 * eps);
  CHECK(std::abs(es.eigenvalues()(1) - 1) <= 4 * eps);

  // Only the lower triangle is read: garbage (NaN included) above it changes nothing.
  std::mt19937_64 rng(3);
  const Mat Q = random_orthonormal(rng, 5);
  const Mat A = Q * Vec((Vec(5) << -3, -1, 0.5, 2, 4).finished()).asDiagonal() * Q.transpose();
  Mat lower_only = A;
  lower_only.triangularView<Eigen::StrictlyUpper>().setConstant(
      std::numeric_limits<double>::quiet_NaN());
  SymmetricEigen<double> full, lower;
  full.compute(A);
  lower.compute(lower_only);
  REQUIRE(lower.info() == Eigen::Success);
  CHECK((full.eigenvalues() - lower.eigenvalues()).cwiseAbs().maxCoeff() <= 50 * eps);
}

TEST_CASE("SymmetricEigen: scaling to the edges of the range, NaN, sizes", "[symmetric_eigen]") {
  std::mt19937_64 rng(5);
  const Mat Q = random_orthonormal(rng, 6);
  const Vec lambda = (Vec(6) << -4, -1, 0.25, 1, 2, 8).finished();
  for (double s : {1e-300, 1e-150, 1e150, 1e300}) {
    const Mat A = Q * (s * lambda).asDiagonal() * Q.transpose();
    SymmetricEigen<double> es;
    es.compute(A);
    REQUIRE(es.info() == Eigen::Success);
    CHECK((es.eigenvalues() / s - lambda).cwiseAbs().maxCoeff() <= 100 * eps * 8);
  }

  Mat bad = Mat::Identity(3, 3);
  bad(2, 0) = std::numeric_limits<double>::infinity();
  SymmetricEigen<double> es;
  es.compute(bad);
  CHECK(es.info() == Eigen::NumericalIssue);
  CHECK_THROWS_AS(es.compute(Mat::Zero(2, 3)), std::invalid_argument);

  // Fixed size: the same numbers as the dynamic one, and an expression as the argument.
  const Mat A = Q * lambda.asDiagonal() * Q.transpose();
  SymmetricEigen<double, 6> fixed;
  fixed.compute(Eigen::Matrix<double, 6, 6>(A) * 2.0);
  SymmetricEigen<double> dyn(6);
  dyn.compute(A * 2.0);
  REQUIRE(fixed.info() == Eigen::Success);
  CHECK((fixed.eigenvalues() - dyn.eigenvalues()).cwiseAbs().maxCoeff() <= 100 * eps);
  CHECK((fixed.eigenvalues() - 2.0 * lambda).cwiseAbs().maxCoeff() <= 100 * eps * 16);
}
