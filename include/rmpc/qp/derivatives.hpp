// Derivatives of the QP data (H, g, A, b, C, d) with respect to parameters theta: the
// input of the sensitivity analysis (method.md section 3, the K_i, f_i, K_ij, f_ij terms).
#pragma once

#include <Eigen/Core>

#include <cstdint>
#include <vector>

namespace rmpc::qp {

template <typename Scalar, int N = Eigen::Dynamic, int P = Eigen::Dynamic, int M = Eigen::Dynamic>
struct ProblemDerivatives {
  using MatrixH = Eigen::Matrix<Scalar, N, N>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  using MatrixA = Eigen::Matrix<Scalar, P, N>;
  using VectorP = Eigen::Matrix<Scalar, P, 1>;
  using MatrixC = Eigen::Matrix<Scalar, M, N>;
  using VectorM = Eigen::Matrix<Scalar, M, 1>;

  Eigen::Index num_parameters = 0;

  // First order: element i is d/dtheta_i. An EMPTY vector means the datum does not depend
  // on theta; it then costs nothing in the sensitivities.
  std::vector<MatrixH> dH;
  std::vector<VectorN> dg;
  std::vector<MatrixA> dA;
  std::vector<VectorP> db;
  std::vector<MatrixC> dC;
  std::vector<VectorM> dd;

  // Second order: element i * np + j is d2/(dtheta_i dtheta_j) (symmetric in i, j). An
  // EMPTY vector means the datum is affine in theta. Sensitivity reads only the elements with
  // i >= j, so a caller refreshing them per problem may skip the mirrored ones.
  std::vector<MatrixH> d2H;
  std::vector<VectorN> d2g;
  std::vector<MatrixA> d2A;
  std::vector<VectorP> d2b;
  std::vector<MatrixC> d2C;
  std::vector<VectorM> d2d;

  /// Optional sparsity of the second order: entry i * np + j is 0 when every second
  /// derivative of the pair (i, j) is zero, so the pair costs nothing. Empty: all pairs present.
  std::vector<std::uint8_t> second_order_pairs;

  bool pair_present(Eigen::Index i, Eigen::Index j) const {
    return second_order_pairs.empty() || second_order_pairs[size_t(i * num_parameters + j)] != 0;
  }

  /// Allocates every block, zeroed. Clear the vectors of data that do not depend on theta
  /// afterwards (or fill only the ones that do) so they cost nothing.
  void resize(Eigen::Index np, Eigen::Index n, Eigen::Index p, Eigen::Index m, bool second_order) {
    num_parameters = np;
    const auto k1 = size_t(np), k2 = second_order ? size_t(np * np) : size_t(0);
    dH.assign(k1, MatrixH::Zero(n, n));
    dg.assign(k1, VectorN::Zero(n));
    dA.assign(k1, MatrixA::Zero(p, n));
    db.assign(k1, VectorP::Zero(p));
    dC.assign(k1, MatrixC::Zero(m, n));
    dd.assign(k1, VectorM::Zero(m));
    d2H.assign(k2, MatrixH::Zero(n, n));
    d2g.assign(k2, VectorN::Zero(n));
    d2A.assign(k2, MatrixA::Zero(p, n));
    d2b.assign(k2, VectorP::Zero(p));
    d2C.assign(k2, MatrixC::Zero(m, n));
    d2d.assign(k2, VectorM::Zero(m));
    second_order_pairs.clear();
  }

  bool has_second_order() const {
    return !(d2H.empty() && d2g.empty() && d2A.empty() && d2b.empty() && d2C.empty() &&
             d2d.empty());
  }
};

}  // namespace rmpc::qp
