// A random symmetric matrix with given eigenvalues (Q diag(eigenvalues) Q', Q the orthogonal
// factor of a Gaussian matrix), for the trust-region subproblem tests.
#pragma once

#include <Eigen/Dense>

#include <random>

namespace rmpc::testing {

inline Eigen::MatrixXd random_symmetric(std::mt19937_64& rng, Eigen::Index n,
                                        const Eigen::VectorXd& eigenvalues) {
  std::normal_distribution<double> normal(0.0, 1.0);
  Eigen::MatrixXd A(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) A(i, j) = normal(rng);
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(A);
  const Eigen::MatrixXd Q = qr.householderQ();
  return Q * eigenvalues.asDiagonal() * Q.transpose();
}

}  // namespace rmpc::testing
