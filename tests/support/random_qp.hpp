// Random convex QPs and an independent KKT check, shared by the solver and sensitivity tests.
#pragma once

#include "rmpc/qp/problem.hpp"

#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <random>

namespace rmpc::testing {

inline Eigen::MatrixXd random_matrix(std::mt19937_64& rng, Eigen::Index r, Eigen::Index c) {
  std::normal_distribution<double> nd(0.0, 1.0);
  Eigen::MatrixXd a(r, c);
  for (Eigen::Index i = 0; i < a.size(); ++i) a.data()[i] = nd(rng);
  return a;
}

inline Eigen::MatrixXd random_spd(std::mt19937_64& rng, Eigen::Index n, double min_eig = 0.5) {
  const Eigen::MatrixXd a = random_matrix(rng, n, n);
  return a * a.transpose() / double(n) + min_eig * Eigen::MatrixXd::Identity(n, n);
}

/// A QP whose unconstrained minimiser lies far outside the feasible set, so that many
/// inequality rows are active at the solution; feasible by construction (z = 0 is interior).
inline qp::Problem<double> random_qp(std::mt19937_64& rng, Eigen::Index n, Eigen::Index p,
                                     Eigen::Index m) {
  qp::Problem<double> pr(n, p, m);
  pr.H = random_spd(rng, n);
  pr.g = 5.0 * random_matrix(rng, n, 1);
  pr.A = random_matrix(rng, p, n);
  pr.b = 0.1 * random_matrix(rng, p, 1);
  pr.C = random_matrix(rng, m, n);
  // Feasible point z0 = A^+ b; rows of C a margin away from it.
  Eigen::VectorXd z0 = Eigen::VectorXd::Zero(n);
  if (p > 0) z0 = pr.A.completeOrthogonalDecomposition().solve(pr.b);
  std::uniform_real_distribution<double> u(0.05, 1.0);
  for (Eigen::Index i = 0; i < m; ++i) pr.d(i) = pr.C.row(i).dot(z0) + u(rng);
  return pr;
}

/// Largest violation of the KKT conditions of the L1-soft QP, relative to the data scale:
/// stationarity, primal feasibility, multiplier boxes and complementarity.
inline double kkt_error(const qp::Problem<double>& pr, const Eigen::VectorXd& z,
                        const Eigen::VectorXd& y_eq, const Eigen::VectorXd& y_ineq) {
  const double scale =
      1.0 + pr.H.cwiseAbs().maxCoeff() * z.cwiseAbs().maxCoeff() + pr.g.cwiseAbs().maxCoeff();
  Eigen::VectorXd grad = pr.H * z + pr.g;
  if (pr.A.rows() > 0) grad += pr.A.transpose() * y_eq;
  if (pr.C.rows() > 0) grad += pr.C.transpose() * y_ineq;
  double err = grad.cwiseAbs().maxCoeff() / scale;
  for (Eigen::Index k = 0; k < pr.A.rows(); ++k)
    err = std::max(err, std::abs(pr.A.row(k).dot(z) - pr.b(k)) / (1.0 + std::abs(pr.b(k))));
  for (Eigen::Index i = 0; i < pr.C.rows(); ++i) {
    const double slack = pr.C.row(i).dot(z) - pr.d(i), y = y_ineq(i);
    const double rel = 1.0 + std::abs(pr.d(i));
    const double w = pr.soft_weight(i);
    const bool soft = std::isfinite(w);
    err = std::max(err, std::max(0.0, -y) / scale);
    if (soft) {
      err = std::max(err, std::max(0.0, y - w) / scale);
      // y < w requires slack <= 0, y > 0 requires slack >= 0 (L1 subgradient condition).
      err = std::max(err, std::min(std::max(0.0, slack) / rel, (w - y) / (1.0 + w)));
      err = std::max(err, std::min(std::max(0.0, -slack) / rel, y / (1.0 + w)));
    } else {
      err = std::max(err, std::max(0.0, slack) / rel);
      err = std::max(err, std::min(std::abs(slack) / rel, y / scale));
    }
  }
  return err;
}

}  // namespace rmpc::testing
