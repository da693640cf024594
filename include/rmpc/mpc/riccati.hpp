// Discrete-time algebraic Riccati equation (DARE) for the LQ terminal cost:
//
//     P = Q + A'PA - A'PB (R + B'PB)^{-1} B'PA,      K = (R + B'PB)^{-1} B'PA,
//
// the cost-to-go x'Px of the unconstrained infinite-horizon problem min sum x'Qx + u'Ru
// (method.md §2: the MPC's terminal cost P). Solved by the structured doubling algorithm
// (Chu, Fan, Lin, Wang 2004): with G = B R^{-1} B', iterate
//
//     W_k = (I + G_k H_k)^{-1},  A_{k+1} = A_k W_k A_k,  G_{k+1} = G_k + A_k W_k G_k A_k',
//     H_{k+1} = H_k + A_k' H_k W_k A_k,     H_0 = Q, G_0 = G, A_0 = A,
//
// so that H_k -> P quadratically (each step doubles the horizon 2^k of the finite-horizon
// Riccati recursion). Needs (A, B) stabilizable, (A, Q^{1/2}) detectable and R > 0.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <Eigen/Core>
#include <Eigen/LU>
#include <Eigen/Cholesky>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace rmpc::mpc {

enum class DareStatus {
  converged,       ///< Relative change of P below tolerance and the DARE residual is small.
  max_iterations,  ///< Doubling did not settle (not stabilizable/detectable, or ill-conditioned).
  singular,        ///< R or I + G_k H_k not invertible: no stabilizing solution from this data.
  not_computed,    ///< compute() has not been called.
};

inline const char* to_string(DareStatus s) {
  switch (s) {
    case DareStatus::converged: return "converged";
    case DareStatus::max_iterations: return "max_iterations";
    case DareStatus::singular: return "singular";
    case DareStatus::not_computed: return "not_computed";
  }
  return "unknown";
}

template <typename Scalar>
struct DareSettings {
  /// Stop when ||H_{k+1} - H_k||_F <= tolerance * ||H_{k+1}||_F; doubling converges
  /// quadratically, so one more step after this is already at round-off.
  Scalar tolerance = Scalar(1e3) * std::numeric_limits<Scalar>::epsilon();
  /// 2^60 horizon steps: far beyond any contraction rate that is not a failure.
  int max_iterations = 60;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(rmpc::detail::finite_positive(tolerance), "DareSettings::tolerance",
                    "finite and > 0", tolerance);
    require_setting(max_iterations > 0, "DareSettings::max_iterations", "> 0", max_iterations);
  }
};

/// DARE solver with the Eigen idiom compute() -> info() -> P()/gain().
template <typename Scalar, int NX = Eigen::Dynamic, int NU = Eigen::Dynamic>
class DareSolver {
 public:
  using MatrixXX = Eigen::Matrix<Scalar, NX, NX>;
  using MatrixXU = Eigen::Matrix<Scalar, NX, NU>;
  using MatrixUU = Eigen::Matrix<Scalar, NU, NU>;
  using MatrixUX = Eigen::Matrix<Scalar, NU, NX>;

  explicit DareSolver(const DareSettings<Scalar>& settings = {}) : settings_(settings) {
    settings_.validate();
  }

  DareSolver& compute(const Eigen::Ref<const MatrixXX>& A, const Eigen::Ref<const MatrixXU>& B,
                      const Eigen::Ref<const MatrixXX>& Q, const Eigen::Ref<const MatrixUU>& R) {
    const Eigen::Index nx = A.rows(), nu = B.cols();
    if (A.cols() != nx) throw std::invalid_argument("DareSolver::compute: A must be square");
    if (B.rows() != nx)
      throw std::invalid_argument("DareSolver::compute: B must have A.rows() rows");
    if (Q.rows() != nx || Q.cols() != nx)
      throw std::invalid_argument("DareSolver::compute: Q must be nx x nx");
    if (R.rows() != nu || R.cols() != nu)
      throw std::invalid_argument("DareSolver::compute: R must be nu x nu");
    iterations_ = 0;
    status_ = DareStatus::singular;
    P_.setZero(nx, nx);
    K_.setZero(nu, nx);
    Eigen::LLT<MatrixUU> r_llt(R);
    if (r_llt.info() != Eigen::Success) return *this;
    MatrixXX Ak = A;
    MatrixXX Gk = B * r_llt.solve(B.transpose());
    MatrixXX Hk = Scalar(0.5) * (Q + Q.transpose());
    const MatrixXX I = MatrixXX::Identity(nx, nx);
    status_ = DareStatus::max_iterations;
    for (int k = 0; k < settings_.max_iterations; ++k) {
      Eigen::PartialPivLU<MatrixXX> lu(I + Gk * Hk);
      // PartialPivLU has no info(): a vanishing determinant relative to the scale flags
      // (I + G H) singular, where the doubling step is undefined.
      if (!std::isfinite(lu.determinant()) ||
          std::abs(lu.determinant()) < std::numeric_limits<Scalar>::min()) {
        status_ = DareStatus::singular;
        break;
      }
      const MatrixXX WA = lu.solve(Ak);  // W_k A_k
      const MatrixXX WG = lu.solve(Gk);  // W_k G_k
      MatrixXX H_next = Hk + Ak.transpose() * Hk * WA;
      H_next = Scalar(0.5) * (H_next + H_next.transpose()).eval();
      MatrixXX G_next = Gk + Ak * WG * Ak.transpose();
      G_next = Scalar(0.5) * (G_next + G_next.transpose()).eval();
      const MatrixXX A_next = Ak * WA;
      iterations_ = k + 1;
      const Scalar change = (H_next - Hk).norm();
      Hk = H_next;
      Gk = G_next;
      Ak = A_next;
      if (!Hk.allFinite()) {
        status_ = DareStatus::singular;
        break;
      }
      if (change <= settings_.tolerance * Hk.norm()) {
        status_ = DareStatus::converged;
        break;
      }
    }
    P_ = Hk;
    const MatrixUU S = R + B.transpose() * P_ * B;
    K_ = S.ldlt().solve(B.transpose() * P_ * A);
    residual_ = (Q + A.transpose() * P_ * A - A.transpose() * P_ * B * K_ - P_).norm();
    return *this;
  }

  DareStatus info() const { return status_; }
  /// Stabilizing solution P (meaningful when info() == converged).
  const MatrixXX& P() const { return P_; }
  /// Optimal LQR gain: u = -K x.
  const MatrixUX& gain() const { return K_; }
  /// Frobenius norm of the DARE residual at P().
  Scalar residual() const { return residual_; }
  int iterations() const { return iterations_; }

 private:
  DareSettings<Scalar> settings_;
  DareStatus status_ = DareStatus::not_computed;
  MatrixXX P_;
  MatrixUX K_;
  Scalar residual_ = Scalar(0);
  int iterations_ = 0;
};

/// Convenience: the stabilizing DARE solution, or throws std::runtime_error when doubling
/// fails (setup-time use only, never inside the learning loop).
template <typename DerivedA, typename DerivedB, typename DerivedQ, typename DerivedR>
Eigen::Matrix<typename DerivedA::Scalar, DerivedA::RowsAtCompileTime, DerivedA::RowsAtCompileTime>
solve_dare(const Eigen::MatrixBase<DerivedA>& A, const Eigen::MatrixBase<DerivedB>& B,
           const Eigen::MatrixBase<DerivedQ>& Q, const Eigen::MatrixBase<DerivedR>& R) {
  using Scalar = typename DerivedA::Scalar;
  DareSolver<Scalar, DerivedA::RowsAtCompileTime, DerivedB::ColsAtCompileTime> dare;
  dare.compute(A, B, Q, R);
  if (dare.info() != DareStatus::converged)
    throw std::runtime_error(std::string("solve_dare: ") + to_string(dare.info()));
  return dare.P();
}

}  // namespace rmpc::mpc
