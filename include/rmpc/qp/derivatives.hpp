// Derivatives of the QP data (H, g, A, b, C, d and the soft weights w) with respect to
// parameters theta: the input of the sensitivity analysis (method.md section 3, the K_i, f_i,
// K_ij, f_ij terms). A saturated exact-L1 row r adds w_r C_r' to the stationarity condition;
// Sensitivity differentiates that term whole (dw_r C_r' + w_r dC_r' and, to second order,
// d2w_r C_r' + dw_r,i dC_r,j' + dw_r,j dC_r,i' + w_r d2C_r'): fill dw, d2w, never fold them
// into dg, d2g.
#pragma once

#include "rmpc/qp/detail/rows.hpp"

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
  using MatrixC = detail::RowsMatrix<Scalar, M, N>;
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
  /// d(soft_weight)/dtheta_i; read only at soft (finite-weight) rows, so hard rows may hold
  /// anything finite.
  std::vector<VectorM> dw;

  // Second order: element i * np + j is d2/(dtheta_i dtheta_j) (symmetric in i, j). An
  // EMPTY vector means the datum is affine in theta. Sensitivity reads only the elements with
  // i >= j, so a caller refreshing them per problem may skip the mirrored ones.
  std::vector<MatrixH> d2H;
  std::vector<VectorN> d2g;
  std::vector<MatrixA> d2A;
  std::vector<VectorP> d2b;
  std::vector<MatrixC> d2C;
  std::vector<VectorM> d2d;
  std::vector<VectorM> d2w;  ///< d2(soft_weight)/(dtheta_i dtheta_j); soft rows only, as dw.

  /// Optional sparsity of the second order: entry i * np + j is 0 when every second
  /// derivative of the pair (i, j) is zero, so the pair costs nothing. Empty: all pairs present.
  /// The soft rows' terms count: a pair with d2w != 0, or with dw_i dC_j or dw_j dC_i != 0 at
  /// some soft row, must be present. An entry with the bit `blocks_known` set also says which
  /// blocks of the pair are nonzero (the other bits of SecondOrderBlock; the others are zero
  /// and are not read); any other nonzero entry means every block may be nonzero.
  std::vector<std::uint8_t> second_order_pairs;

  /// Bits of a second_order_pairs entry (with blocks_known): which second derivatives of the
  /// pair are nonzero. block_w covers d2w and the soft rows' dw_i dC_j' + dw_j dC_i'.
  enum SecondOrderBlock : std::uint8_t {
    block_H = 1,
    block_g = 2,
    block_A = 4,
    block_b = 8,
    block_C = 16,
    block_d = 32,
    block_w = 64,
    blocks_known = 128,
  };

  bool pair_present(Eigen::Index i, Eigen::Index j) const {
    return second_order_pairs.empty() || second_order_pairs[size_t(i * num_parameters + j)] != 0;
  }
  /// Whether block `b` of pair (i, j) may be nonzero (see second_order_pairs).
  bool pair_has(Eigen::Index i, Eigen::Index j, SecondOrderBlock b) const {
    if (second_order_pairs.empty()) return true;
    const std::uint8_t v = second_order_pairs[size_t(i * num_parameters + j)];
    return v != 0 && ((v & blocks_known) == 0 || (v & b) != 0);
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
    dw.assign(k1, VectorM::Zero(m));
    d2H.assign(k2, MatrixH::Zero(n, n));
    d2g.assign(k2, VectorN::Zero(n));
    d2A.assign(k2, MatrixA::Zero(p, n));
    d2b.assign(k2, VectorP::Zero(p));
    d2C.assign(k2, MatrixC::Zero(m, n));
    d2d.assign(k2, VectorM::Zero(m));
    d2w.assign(k2, VectorM::Zero(m));
    second_order_pairs.clear();
  }

  /// Whether any second-order term is given, including the soft rows' dw_i dC_j' (a weight
  /// and a row that both depend on theta are not affine even with d2w and d2C empty).
  bool has_second_order() const {
    return !(d2H.empty() && d2g.empty() && d2A.empty() && d2b.empty() && d2C.empty() &&
             d2d.empty() && d2w.empty() && (dw.empty() || dC.empty()));
  }
};

}  // namespace rmpc::qp
