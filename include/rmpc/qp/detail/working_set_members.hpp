// The working set itself: which rows are in it, in which order and orientation, and the
// factor of their normals (WorkingSetFactor), kept in step by add() and remove(). DenseSolver
// grows and shrinks it during the solve and shows its final one read-only
// (DenseSolver::working_set()). It is the one implementation of this bookkeeping: Sensitivity
// copies the solver's and edits the copy for the one-sided derivative it was asked for.
#pragma once

#include "rmpc/qp/detail/working_set.hpp"

#include <Eigen/Core>

#include <cstdint>

namespace rmpc::qp::detail {

/// Member k (0 <= k < size(), in factor order) is row member(k) of the QP: an index < p is
/// equality row index, else inequality row index - p. sign(k) = -1 marks a soft row that
/// entered from saturation (normal -C_i, multiplier w_i - mu_i); +1 is the natural orientation
/// (normal A_i or C_i). Column k of the factor is the normal sign(k) * row member(k).
template <typename Scalar, int N>
class WorkingSet {
 public:
  using Factor = WorkingSetFactor<Scalar, N>;
  using VectorN = Eigen::Matrix<Scalar, N, 1>;
  // The working set never holds more than n linearly independent normals.
  using IndexN = Eigen::Matrix<int, N, 1>;
  using SignN = Eigen::Matrix<std::int8_t, N, 1>;

  /// Storage for n variables; the working set is then empty (and J not yet set).
  void resize(Eigen::Index n) {
    factor_.resize(n);
    index_.resize(n);
    sign_.resize(n);
    signed_rhs_.resize(n);
  }

  /// The empty working set (J = J0 of the factor's current H).
  void reset() { factor_.reset(); }

  /// Once per H (WorkingSetFactor::set_hessian_factor); the working set is then empty.
  template <typename LowerFactor>
  void set_hessian_factor(const LowerFactor& L, Scalar scale) {
    factor_.set_hessian_factor(L, scale);
  }

  /// The factor, read only: rotations, steps and solves in the factor's orientation. Members
  /// are added and removed only through add() and remove(), which keep the two in step.
  const Factor& factor() const { return factor_; }

  Eigen::Index size() const { return factor_.size(); }
  Eigen::Index dim() const { return factor_.dim(); }
  int member(Eigen::Index k) const { return index_(k); }
  std::int8_t sign(Eigen::Index k) const { return sign_(k); }

  bool contains(int index) const {
    for (Eigen::Index k = 0; k < size(); ++k)
      if (index_(k) == index) return true;
    return false;
  }

  /// |J2' n|^2 for d = J'n (rotate_normal): the squared part of the normal outside the span
  /// of the working set, in the H^{-1} metric; 0 when the working set is full.
  Scalar null_space_norm2(const VectorN& d) const {
    const Eigen::Index n = dim(), q = size();
    return q < n ? d.tail(n - q).squaredNorm() : Scalar(0);
  }

  /// Appends row `index` with orientation `sign`; d holds the rotated normal J'n of
  /// sign * row (overwritten). The caller has checked that it is independent of the others.
  void add(int index, std::int8_t sign, VectorN& d) {
    const Eigen::Index q = size();
    index_(q) = index;
    sign_(q) = sign;
    factor_.add(d);
  }

  /// Removes member k; the members after it move up by one.
  void remove(Eigen::Index k) {
    const Eigen::Index q = size();
    for (Eigen::Index j = k; j + 1 < q; ++j) {
      index_(j) = index_(j + 1);
      sign_(j) = sign_(j + 1);
    }
    factor_.remove(k);
  }

  /// Turns member k (sign -1) to its natural orientation: normal C_i instead of -C_i.
  void make_natural(Eigen::Index k) {
    sign_(k) = 1;
    factor_.flip(k);
  }

  /// Solves [H K'; K 0][x; mu] = [r1; r2], K the working-set rows in their natural orientation
  /// (A_i or C_i) in working-set order: the factor's system with the signs applied to r2 and mu
  /// (multiplications by +-1, exact).
  template <typename R1, typename R2, typename X, typename Mu>
  void solve_kkt(const R1& r1, const R2& r2, X& x, Mu& mu) const {
    const Eigen::Index q = size();
    for (Eigen::Index k = 0; k < q; ++k) signed_rhs_(k) = sign_(k) * r2(k);
    factor_.solve_kkt(r1, signed_rhs_, x, mu);
    for (Eigen::Index k = 0; k < q; ++k) mu(k) *= sign_(k);
  }

  /// The same for the columns of r1, r2 at once; `signed_r2` (n x at least r2.cols()) and
  /// `work` (n x r2.cols()) are scratch.
  template <typename R1, typename R2, typename X, typename Mu, typename Signed, typename Work>
  void solve_kkt_block(const R1& r1, const R2& r2, X& x, Mu& mu, Signed& signed_r2,
                       Work& work) const {
    const Eigen::Index q = size();
    for (Eigen::Index k = 0; k < q; ++k)
      if (sign_(k) < 0)
        signed_r2.row(k).head(r2.cols()) = -r2.row(k);
      else
        signed_r2.row(k).head(r2.cols()) = r2.row(k);
    factor_.solve_kkt_block(r1, signed_r2.leftCols(r2.cols()), x, mu, work);
    for (Eigen::Index k = 0; k < q; ++k)
      if (sign_(k) < 0) mu.row(k) = -mu.row(k);
  }

 private:
  Factor factor_;
  IndexN index_;
  SignN sign_;
  mutable VectorN signed_rhs_;  ///< solve_kkt's r2 with the signs applied.
};

}  // namespace rmpc::qp::detail
