// LqMpc, once per state: the QP solve, the per-state derivative data and the sensitivities
// (method.md §3), and the Q-value with u_0 fixed.
//
// Out-of-class definitions of rmpc/mpc/lq_mpc.hpp, included only from there (see
// lq_mpc_setup.hpp for why they are out of the class body).
#pragma once

#include "rmpc/qp/detail/small_product.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace rmpc::mpc {

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::prepare_result(Result& out) const {
  const Eigen::Index n = num_variables(), m = num_rows(), nx = sizes_.nx, nu = sizes_.nu,
                     np = sizes_.np;
  out.status = PolicyStatus::not_ready;
  out.qp_status = setup_status_;
  out.sensitivity_status = qp::SensitivityStatus::not_solved;
  out.state_sensitivity_status = qp::SensitivityStatus::not_solved;
  out.cost = Scalar(0);
  out.iterations = 0;
  out.u0.setZero(nu);
  out.u.setZero(sizes_.horizon * nu);
  out.slack.setZero(sizes_.ns);
  out.x.setZero(nx, sizes_.horizon + 1);
  out.du0_dtheta.setZero(nu, np);
  out.d2u0_dtheta2.setZero(nu * np, np);
  out.du0_ds.setZero(nu, nx);
  out.dz_dtheta.setZero(n, np);
  out.row_state.setZero(m);
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::evaluate_impl(const VectorX& s,
                                                                   const PolicyRequest& request,
                                                                   bool with_extra, Result& out) {
  prepare_result(out);
  if (setup_status_ != qp::Status::optimal) return;

  g_.noalias() = G_ * s;
  g_ += g0_;
  if (with_extra) g_ += extra_;
  d_.noalias() = D_ * s;
  d_ += d0_;
  solver_.update_linear_terms(g_, b_, d_);
  const bool warm = request.warm_start && have_warm_start_;
  const auto& res = warm ? solver_.solve(warm_) : solver_.solve();
  out.qp_status = res.status;
  out.iterations = res.iterations;
  if (res.status != qp::Status::optimal) {
    out.status = PolicyStatus::solver_failed;
    have_warm_start_ = false;
    return;
  }
  warm_ = res.row_state;
  have_warm_start_ = true;
  out.row_state = res.row_state;
  out.u = res.z.head(sizes_.horizon * sizes_.nu);
  out.slack = res.z.tail(sizes_.ns);
  out.u0 = res.z.head(sizes_.nu);
  out.cost = rollout_impl(s, out.u, out.x);
  out.status = PolicyStatus::ok;

  // MaxOrder 0: values only (no Sensitivity compiled); derivative requests are ignored, their
  // statuses stay not_solved, as with derivative_order 0.
  if constexpr (MaxOrder >= 1) {
    bool weak = false, failed = false;
    auto account = [&weak, &failed](qp::SensitivityStatus st) {
      if (st == qp::SensitivityStatus::weakly_active)
        weak = true;
      else if (st != qp::SensitivityStatus::ok)
        failed = true;
    };
    const bool first = request.du0_dtheta && settings_.derivative_order >= 1 && sizes_.np > 0;
    if (first) {
      // The sensitivities read dd, d2d only at working-set rows, a subset of the rows the solver
      // left active or saturated unless weakly active inactive rows may join (keep_active).
      // Inactive rows at zero slack are read too: Sensitivity checks them (dependent and
      // weakly active rows), so they are refreshed with a tolerance looser than its own.
      num_rows_needed_ = 0;
      const bool all_rows = settings_.sensitivity.weak_rows == qp::WeakRowChoice::keep_active;
      qp::detail::small_product<NZ>(cz_, problem_.C, res.z);
      const Scalar zero_slack =
          std::max(Scalar(1e-6), Scalar(1e3) * settings_.sensitivity.weak_tolerance);
      for (Eigen::Index r = 0; r < num_rows(); ++r)
        if (all_rows || res.row_state(r) != std::int8_t(qp::RowState::inactive) ||
            std::abs(cz_(r) - d_(r)) <=
                zero_slack * (Scalar(1) + std::abs(d_(r)) + std::abs(cz_(r))))
          rows_needed_(num_rows_needed_++) = int(r);
      const Eigen::Index np = sizes_.np;
      for (Eigen::Index i = 0; i < np; ++i) {
        const auto ii = size_t(i);
        if (has_dg_) {
          dX_.dg[ii].noalias() = dG_[ii] * s;
          dX_.dg[ii] += dg0_[ii];
        }
        if (has_dd_) affine_rows(dD_[ii], dd0_[ii], s, dX_.dd[ii]);
      }
      const bool second = request.d2u0_dtheta2 && settings_.derivative_order >= 2;
      if (second) {
        for (Eigen::Index i = 0; i < np; ++i) {
          for (Eigen::Index j = i; j < np; ++j) {
            // Sensitivity reads only the entry (first index >= second) of each pair: fill that one.
            const auto lo = size_t(j * np + i);
            // A block the pair's mask marks zero stays zero (its setup value) and is not read.
            if (has_d2g_ && dX_.pair_has(i, j, ThetaDerivatives::block_g)) {
              dX_.d2g[lo].noalias() = d2G_[lo] * s;
              dX_.d2g[lo] += d2g0_[lo];
            }
            if (has_d2d_ && dX_.pair_has(i, j, ThetaDerivatives::block_d))
              affine_rows(d2D_[lo], d2d0_[lo], s, dX_.d2d[lo]);
          }
        }
      }
      sensitivity_.compute(solver_, dX_, settings_.sensitivity);
      out.sensitivity_status = sensitivity_.info();
      account(out.sensitivity_status);
      if (sensitivity_usable(out.sensitivity_status)) {
        out.du0_dtheta = sensitivity_.dz_dtheta().topRows(sizes_.nu);
        if (request.dz_dtheta) out.dz_dtheta = sensitivity_.dz_dtheta();
        if (second) {
          for (Eigen::Index j = 0; j < sizes_.nu; ++j) {
            e_.setZero();
            e_(j) = Scalar(1);
            sensitivity_.functional_hessian(e_, hess_);
            out.d2u0_dtheta2.middleRows(j * np, np) = hess_;
          }
        }
      }
    }
    if (request.du0_ds) {
      state_sensitivity_.compute(solver_, dX_state_, settings_.sensitivity);
      out.state_sensitivity_status = state_sensitivity_.info();
      account(out.state_sensitivity_status);
      if (sensitivity_usable(out.state_sensitivity_status))
        out.du0_ds = state_sensitivity_.dz_dtheta().topRows(sizes_.nu);
    }
    if (failed)
      out.status = PolicyStatus::sensitivity_failed;
    else if (weak)
      out.status = PolicyStatus::weakly_active;
  }
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::affine_rows(const MatrixMX& D,
                                                                 const VectorM& d0,
                                                                 const VectorX& s,
                                                                 VectorM& out) const {
  for (Eigen::Index t = 0; t < num_rows_needed_; ++t) {
    const Eigen::Index r = rows_needed_(t);
    out(r) = D.row(r).dot(s) + d0(r);
  }
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename DerivedS, typename DerivedU, typename DerivedX>
Scalar LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::rollout_impl(
    const Eigen::MatrixBase<DerivedS>& s, const Eigen::MatrixBase<DerivedU>& u,
    Eigen::MatrixBase<DerivedX>& x) const {
  const Eigen::Index nu = sizes_.nu, Nh = sizes_.horizon;
  Scalar cost(0);
  detail::assign_checked(x.col(0), s);
  for (Eigen::Index k = 0; k < Nh; ++k) {
    const auto xk = x.col(k);
    const auto uk = u.segment(k * nu, nu);
    cost += xk.dot(data_.Q * xk) + data_.q.dot(xk) + uk.dot(data_.R * uk) + data_.r.dot(uk);
    cost += stage_penalty(data_, xk, uk);
    x.col(k + 1).noalias() = data_.A * xk;
    x.col(k + 1).noalias() += data_.B * uk;
    x.col(k + 1) += data_.b;
  }
  const auto xN = x.col(Nh);
  cost += xN.dot(data_.P * xN) + data_.p.dot(xN);
  return cost;
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename DerivedD, typename DerivedOut>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::exploration_cost(
    const Eigen::MatrixBase<DerivedD>& d, const Eigen::MatrixBase<DerivedOut>& out_) const {
  check_vector(d, sizes_.nu, "LqMpc::exploration_cost", "d", "nu");
  auto& out =
      const_cast<Eigen::MatrixBase<DerivedOut>&>(out_);  // Eigen's idiom for writable temporaries
  detail::resize_if_possible(out, num_variables(), 1);
  check_vector(out, num_variables(), "LqMpc::exploration_cost", "out", "num_variables()");
  out.setZero();
  out.head(sizes_.nu) = d;
  if (sizes_.horizon > 1) out.segment(sizes_.nu, sizes_.nu) = -d;
}

// q_value() after its argument checks: s_ and a_ hold the state and the fixed u_0.
template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
typename LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::QResult
LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::q_value_impl() {
  QResult q;
  q.u.setZero(sizes_.horizon * sizes_.nu);
  q.x.setZero(sizes_.nx, sizes_.horizon + 1);
  q.status = qp::Status::invalid_input;
  if (setup_status_ != qp::Status::optimal) return q;
  if (!fixed_ready_) {
    qp::Problem<Scalar, NZ, Eigen::Dynamic, M> fixed(num_variables(), sizes_.nu, num_rows());
    fixed.H = problem_.H;
    fixed.C = problem_.C;
    fixed.soft_weight = problem_.soft_weight;
    fixed.A.setZero();
    fixed.A.leftCols(sizes_.nu).setIdentity();
    fixed_solver_.compute(fixed);
    fixed_ready_ = true;
  }
  g_.noalias() = G_ * s_;
  g_ += g0_;
  d_.noalias() = D_ * s_;
  d_ += d0_;
  fixed_solver_.update_linear_terms(g_, a_, d_);
  const auto& res = fixed_solver_.solve();
  q.status = res.status;
  if (res.status != qp::Status::optimal) return q;
  q.u = res.z.head(sizes_.horizon * sizes_.nu);
  q.cost = rollout_impl(s_, q.u, q.x);
  return q;
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
bool LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::sensitivity_usable(qp::SensitivityStatus st) {
  return st == qp::SensitivityStatus::ok || st == qp::SensitivityStatus::weakly_active;
}

}  // namespace rmpc::mpc
