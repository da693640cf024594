// LqMpc, once per theta: construction and set_parameters() (checks: lq_mpc_checks.hpp):
// the model at theta in values and nested AutoDiffScalar, condensed (condensing.hpp), with the
// theta-derivatives of H, C, G, g0, D, d0 and the soft weights taken out (method.md §3).
//
// Out-of-class definitions of rmpc/mpc/lq_mpc.hpp, included only from there. They are out of
// the class body so that they are not implicitly inline: a translation unit that sees their
// `extern template` declarations (rmpc/mpc/lq_mpc_instantiation.hpp) does not compile them
// again (the paper's MPC is compiled once per build, see examples/linear_2d/paper_mpc_*.cpp).
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace rmpc::mpc {

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename Model>
LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::LqMpc(const Model& model, const LqSizes& sizes,
                                                      const Settings& settings)
    : settings_(settings), sizes_(sizes), solver_(settings.qp), fixed_solver_(settings.qp) {
  // The first error a user sees for a wrong functor (model.hpp, "How theta enters").
  constexpr bool value_ok = detail::is_model_for<Model, Scalar, NP, NX, NU, NC>;
  static_assert(value_ok,
                "rmpc::mpc::LqMpc: the model functor must be callable as model(theta, out) with "
                "theta an Eigen::Matrix<T, NP, 1> and out an rmpc::mpc::LqData<T, NX, NU, NC>& "
                "of this LqMpc's NP, NX, NU and NC (check the sizes in its signature)");
  static_assert(!value_ok || MaxOrder == 0 ||
                    detail::is_model_for<Model, std::conditional_t<(MaxOrder >= 2), Ad2, Ad1>, NP,
                                         NX, NU, NC>,
                "rmpc::mpc::LqMpc: the model functor must accept any scalar type T, not only "
                "double: write it as `template <class T> void operator()(const "
                "Eigen::Matrix<T, NP, 1>& theta, rmpc::mpc::LqData<T, NX, NU, NC>& out) const` "
                "(LqMpc evaluates it with Eigen::AutoDiffScalar for the theta-derivatives)");
  detail::LqMpcConstruct<LqMpc, Model>::construct(*this, model);
}

// The constructor's work after its compile-time checks: the model as std::function in values
// and AutoDiffScalar (instantiates the user's functor in each), sizes, settings, allocation.
template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename Model>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::construct_impl(const Model& model) {
  model_value_ = detail::model_function<decltype(model_value_)>(model);
  model_ad1_ = detail::model_function<decltype(model_ad1_)>(model);
  model_ad2_ = detail::model_function<decltype(model_ad2_)>(model);
  check_sizes();
  settings_.validate();
  if (settings_.derivative_order > MaxOrder)
    throw std::invalid_argument(
        "LqMpc: settings.derivative_order = " + std::to_string(settings_.derivative_order) +
        " must be in [0, MaxOrder = " + std::to_string(MaxOrder) +
        "] (the type's template argument)");
  settings_.sensitivity.second_order = false;
  allocate();
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
LqSizes LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::default_sizes() {
  LqSizes s;
  s.nx = NX == Eigen::Dynamic ? 0 : NX;
  s.nu = NU == Eigen::Dynamic ? 0 : NU;
  s.horizon = N == Eigen::Dynamic ? 0 : N;
  s.np = NP == Eigen::Dynamic ? 0 : NP;
  s.nc = NC == Eigen::Dynamic ? 0 : NC;
  s.ns = NS == Eigen::Dynamic ? 0 : NS;
  return s;
}

// set_parameters() after its size check: the value, first- and second-order condensing of
// method.md §3 at theta, then the factorization.
template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
qp::Status LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::set_parameters_checked(
    const VectorTheta& theta_in) {
  have_warm_start_ = false;
  // One expansion per theta: the same theta again (the loop's evaluation and model update at
  // an accepted theta, on every worker) keeps the expansion and the factorization; only the
  // warm start is forgotten, as after any set_parameters().
  if (setup_status_ == qp::Status::optimal && (theta_in.array() == theta_.array()).all())
    return setup_status_;
  fixed_ready_ = false;
  setup_status_ = qp::Status::invalid_input;
  setup_message_.clear();
  for (Eigen::Index i = 0; i < theta_in.size(); ++i)
    if (!std::isfinite(theta_in(i))) {
      setup_message_ = "theta(" + std::to_string(i) + ") is NaN/Inf";
      return setup_status_;
    }
  data_ = Data(sizes_.nx, sizes_.nu, sizes_.nc);
  model_value_(theta_in, data_);
  check_model_sizes(data_);
  if (const char* bad = invalid_soft_weights(data_)) {
    setup_message_ = std::string("invalid soft weights: ") + bad +
                     " (soft weight must be >= 0 or +inf, quadratic weight finite and >= 0)";
    return setup_status_;
  }
  if (!check_model_values(data_)) return setup_status_;
  const Eigen::Index ns = count_slacks(data_, sizes_.horizon);
  if (ns != sizes_.ns) {
    if (NS != Eigen::Dynamic)
      throw std::invalid_argument(
          "LqMpc::set_parameters: the model has " + std::to_string(ns) +
          " slack variables (soft components with a quadratic weight), template NS = " +
          std::to_string(sizes_.ns) + "; use soft_slack_count()");
    sizes_.ns = ns;
    allocate();
    model_value_(theta_in, data_);
  }
  theta_ = theta_in;
  // One AutoDiff pass per type (each costs a translation unit ~10 s of compile time): Ad1 when
  // MaxOrder == 1; with MaxOrder == 2 the Ad2 pass also serves derivative_order 1 (the second
  // derivatives are then not taken out). The constructor keeps derivative_order <= MaxOrder.
  if (settings_.derivative_order == 0) {
    CondensedQp<Scalar> qp;
    condense(data_, sizes_.horizon, qp);
    extract_values(qp);
  } else if constexpr (MaxOrder >= 1) {
    using Ad = std::conditional_t<MaxOrder == 1, Ad1, Ad2>;
    Eigen::Matrix<Ad, NP, 1> th;
    LqData<Ad, NX, NU, NC> data(sizes_.nx, sizes_.nu, sizes_.nc);
    if constexpr (MaxOrder == 1) {
      detail::seed_first<Scalar, NP>(theta_, th);
      model_ad1_(th, data);
    } else {
      detail::seed_second<Scalar, NP>(theta_, th);
      model_ad2_(th, data);
    }
    CondensedQp<Ad> qp;
    condense(data, sizes_.horizon, qp);
    extract_values(qp);
    extract_first(qp);
    if constexpr (MaxOrder == 2) {
      if (settings_.derivative_order >= 2) extract_second(qp);
    }
  }
  solver_.compute(problem_);
  setup_status_ = solver_.info();
  if (setup_status_ != qp::Status::optimal)
    setup_message_ = "condensed QP: " + solver_.result().message;
  // du0/ds: "parameters" s enter only through g = G s + .. and d = D s + ..
  for (Eigen::Index i = 0; i < sizes_.nx; ++i) {
    dX_state_.dg[size_t(i)] = G_.col(i);
    dX_state_.dd[size_t(i)] = D_.col(i);
  }
  return setup_status_;
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::allocate() {
  const Eigen::Index n = num_variables(), m = num_rows(), nx = sizes_.nx, nu = sizes_.nu,
                     np = sizes_.np;
  theta_.setZero(np);
  data_ = Data(nx, nu, sizes_.nc);
  problem_.resize(n, 0, m);
  G_.setZero(n, nx);
  g0_.setZero(n);
  D_.setZero(m, nx);
  d0_.setZero(m);
  g_.setZero(n);
  d_.setZero(m);
  b_.resize(0);
  e_.setZero(n);
  rows_needed_.setZero(m);
  hess_.setZero(np, np);
  dX_state_.num_parameters = nx;
  dX_state_.dg.assign(size_t(nx), VectorZ::Zero(n));
  dX_state_.dd.assign(size_t(nx), VectorM::Zero(m));
  dX_.num_parameters = np;
  s_.setZero(nx);
  extra_.setZero(n);
  a_.setZero(nu);
  cz_.setZero(m);
  warm_.setZero(m);
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename T>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::extract_values(const CondensedQp<T>& qp) {
  detail::take_value(qp.H, problem_.H);
  problem_.H = (Scalar(0.5) * (problem_.H + problem_.H.transpose())).eval();
  detail::take_value(qp.C, problem_.C);
  detail::take_value(qp.G, G_);
  detail::take_value(qp.g0, g0_);
  detail::take_value(qp.D, D_);
  detail::take_value(qp.d0, d0_);
  detail::take_value(qp.soft_weight, problem_.soft_weight);
  dX_.dH.clear();
  dX_.dg.clear();
  dX_.dC.clear();
  dX_.dd.clear();
  dX_.d2H.clear();
  dX_.d2g.clear();
  dX_.d2C.clear();
  dX_.d2d.clear();
  dG_.clear();
  dg0_.clear();
  dD_.clear();
  dd0_.clear();
  d2G_.clear();
  d2g0_.clear();
  d2D_.clear();
  d2d0_.clear();
  dX_.dw.clear();
  dX_.d2w.clear();
  has_dg_ = has_dd_ = has_d2g_ = has_d2d_ = has_dw_ = false;
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename T, typename Part>
bool LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::take_weight_derivative(
    const Eigen::Matrix<T, Eigen::Dynamic, 1>& w, VectorM& out, Part part) const {
  out.setZero(w.size());
  bool any = false;
  for (Eigen::Index r = 0; r < w.size(); ++r) {
    if (!std::isfinite(detail::ad_value(w(r)))) continue;
    out(r) = part(w(r));
    any |= out(r) != Scalar(0);
  }
  return any;
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename T>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::extract_first(const CondensedQp<T>& qp) {
  const Eigen::Index np = sizes_.np;
  const auto k = size_t(np);
  dX_.dH.resize(k);
  dX_.dC.resize(k);
  dG_.resize(k);
  dg0_.resize(k);
  dD_.resize(k);
  dd0_.resize(k);
  dX_.dw.resize(k);
  bool any_H = false, any_C = false;
  for (Eigen::Index i = 0; i < np; ++i) {
    const auto ii = size_t(i);
    has_dw_ |= take_weight_derivative(qp.soft_weight, dX_.dw[ii],
                                      [i](const auto& x) { return detail::ad_first(x, i); });
    any_H |= detail::take_first(qp.H, i, dX_.dH[ii]);
    dX_.dH[ii] = (Scalar(0.5) * (dX_.dH[ii] + dX_.dH[ii].transpose())).eval();
    any_C |= detail::take_first(qp.C, i, dX_.dC[ii]);
    has_dg_ |= detail::take_first(qp.G, i, dG_[ii]);
    has_dg_ |= detail::take_first(qp.g0, i, dg0_[ii]);
    has_dd_ |= detail::take_first(qp.D, i, dD_[ii]);
    has_dd_ |= detail::take_first(qp.d0, i, dd0_[ii]);
  }
  if (!any_H) dX_.dH.clear();
  if (!any_C) dX_.dC.clear();
  if (!has_dw_) dX_.dw.clear();
  dX_.dg.assign(has_dg_ ? k : 0, VectorZ::Zero(num_variables()));
  dX_.dd.assign(has_dd_ ? k : 0, VectorM::Zero(num_rows()));
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename T>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::extract_second(const CondensedQp<T>& qp) {
  const Eigen::Index np = sizes_.np;
  const auto k = size_t(np * np);
  dX_.d2H.resize(k);
  dX_.d2C.resize(k);
  d2G_.resize(k);
  d2g0_.resize(k);
  d2D_.resize(k);
  d2d0_.resize(k);
  dX_.d2w.resize(k);
  bool any_H = false, any_C = false, any_d2w = false;
  std::vector<std::uint8_t> pairs(k, 0);
  for (Eigen::Index i = 0; i < np; ++i) {
    for (Eigen::Index j = 0; j < np; ++j) {
      const auto ij = size_t(i * np + j);
      if (j < i) {  // symmetric: copy the (j, i) entry
        const auto ji = size_t(j * np + i);
        dX_.d2H[ij] = dX_.d2H[ji];
        dX_.d2C[ij] = dX_.d2C[ji];
        d2G_[ij] = d2G_[ji];
        d2g0_[ij] = d2g0_[ji];
        d2D_[ij] = d2D_[ji];
        d2d0_[ij] = d2d0_[ji];
        dX_.d2w[ij] = dX_.d2w[ji];
        continue;
      }
      const bool pair_w =
          take_weight_derivative(qp.soft_weight, dX_.d2w[ij],
                                 [i, j](const auto& x) { return detail::ad_second(x, i, j); });
      any_d2w |= pair_w;
      // Saturated exact-L1 rows add w C_r' to g (stationarity), so a theta-dependent weight
      // couples with dC in the second derivative (Sensitivity: dw_i dC_j' + dw_j dC_i').
      const bool pair_wC =
          has_dw_ &&
          ((!dX_.dw[size_t(i)].isZero(0) && !dX_.dC.empty() && !dX_.dC[size_t(j)].isZero(0)) ||
           (!dX_.dw[size_t(j)].isZero(0) && !dX_.dC.empty() && !dX_.dC[size_t(i)].isZero(0)));
      const bool pair_H = detail::take_second(qp.H, i, j, dX_.d2H[ij]);
      dX_.d2H[ij] = (Scalar(0.5) * (dX_.d2H[ij] + dX_.d2H[ij].transpose())).eval();
      const bool pair_C = detail::take_second(qp.C, i, j, dX_.d2C[ij]);
      // Both halves are taken (each fills its output), so no short-circuit between them.
      const bool pair_G = detail::take_second(qp.G, i, j, d2G_[ij]);
      const bool pair_g = detail::take_second(qp.g0, i, j, d2g0_[ij]) || pair_G;
      const bool pair_D = detail::take_second(qp.D, i, j, d2D_[ij]);
      const bool pair_d = detail::take_second(qp.d0, i, j, d2d0_[ij]) || pair_D;
      any_H |= pair_H, any_C |= pair_C, has_d2g_ |= pair_g, has_d2d_ |= pair_d;
      // Pairs with no second derivative at all (e.g. the paper's b_theta and back-off
      // parameters) are skipped per state and in the sensitivities, and so are the zero
      // blocks of the others (the paper's d2H and d2C vanish for pairs with b_theta).
      using Blocks = typename ThetaDerivatives::SecondOrderBlock;
      const int blocks = (pair_H ? Blocks::block_H : 0) | (pair_C ? Blocks::block_C : 0) |
                         (pair_g ? Blocks::block_g : 0) | (pair_d ? Blocks::block_d : 0) |
                         (pair_w || pair_wC ? Blocks::block_w : 0);
      pairs[ij] = pairs[size_t(j * np + i)] =
          std::uint8_t(blocks != 0 ? blocks | Blocks::blocks_known : 0);
    }
  }
  dX_.second_order_pairs = pairs;
  if (!any_H) dX_.d2H.clear();
  if (!any_C) dX_.d2C.clear();
  if (!any_d2w) dX_.d2w.clear();
  dX_.d2g.assign(has_d2g_ ? k : 0, VectorZ::Zero(num_variables()));
  dX_.d2d.assign(has_d2d_ ? k : 0, VectorM::Zero(num_rows()));
}

}  // namespace rmpc::mpc
