// Exploration of method.md section 4 (the seeding of the loop's random streams, the draws of d
// included, is rl/random_streams.hpp).
//
// At each step, with probability eps, the MPC is solved with the extra linear cost
// d (u_0 - u_1), d ~ N(0, sigma^2), and its u_0 is applied. eps = max(floor, eps0 decay^i)
// after i RL iterations (paper: eps0 = 1, decay = 0.01^(1/8), floor = 0.01, sigma = 0.1).
//
// The paper's sigma is in cost units: how far d moves u_0 depends on the MPC's input weights
// (about sigma / (2 R)), which theta may change. ExplorationScale::action (the default) draws
// the change of u_0 instead: eps ~ N(0, sigma^2) per input in the input's units, and d = T eps
// with T from the QP's Hessian at the current theta (action_exploration_map), so that the
// unconstrained minimiser's u_0 moves by exactly eps (active constraints may clip it) whatever
// theta does to the weights. Why the default (README, Results): TR-QN on the 2-D study, 32
// seeds, 27 within 1 % instead of 20; on the two-mass system the paper's sigma = 0.1 moves
// the inputs by half their range and most runs end worse than theta0, sigma = 0.1 N does not.
#pragma once

#include "rmpc/detail/settings_check.hpp"

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace rmpc::rl {

/// What ExplorationSettings::sigma measures.
enum class ExplorationScale {
  cost,    ///< the linear cost d of d (u_0 - u_1) (the paper).
  action,  ///< the change of the unconstrained u_0 that d causes, in the input's units.
};

inline const char* to_string(ExplorationScale s) {
  return s == ExplorationScale::cost ? "cost" : s == ExplorationScale::action ? "action" : "?";
}

template <typename Scalar = double>
struct ExplorationSettings {
  Scalar initial_probability = Scalar(1);  ///< eps at iteration 0 (paper: 1).
  Scalar decay =
      std::pow(Scalar(0.01), Scalar(1) / 8);  ///< eps *= decay per iteration (paper: 0.01^(1/8)).
  Scalar floor = Scalar(0.01);                ///< eps never below (paper: 0.01).
  /// std of the exploration, in the units of `scale` (paper: 0.1 in cost units; here 0.1 in
  /// the input's units, a tenth of the paper's |u| <= 1: choose 5-10 % of the input range).
  Scalar sigma = Scalar(0.1);
  /// action (default): sigma is the std of the change of u_0 that d causes, in the input's
  /// units, the same for every theta. cost (the paper): sigma is the std of d itself.
  ExplorationScale scale = ExplorationScale::action;

  /// Throws std::invalid_argument naming the first field outside its range.
  void validate() const {
    using rmpc::detail::require_setting;
    require_setting(initial_probability >= Scalar(0) && initial_probability <= Scalar(1),
                    "ExplorationSettings::initial_probability", "in [0, 1]", initial_probability);
    require_setting(decay > Scalar(0) && decay <= Scalar(1), "ExplorationSettings::decay",
                    "in (0, 1]", decay);
    require_setting(floor >= Scalar(0) && floor <= Scalar(1), "ExplorationSettings::floor",
                    "in [0, 1]", floor);
    require_setting(rmpc::detail::finite_nonnegative(sigma), "ExplorationSettings::sigma",
                    "finite and >= 0", sigma);
  }
};

/// ExplorationScale::action: the nu x nu matrix T with d = T eps, such that the extra cost
/// d'(u_0 - u_1) moves the minimiser of the MPC's QP at its current theta, without inequality
/// rows, by Delta u_0 = eps. The QP is min z'Hz/2 + (g + E d)'z with E d = exploration_cost(d),
/// so Delta z = -H^{-1} E d and T = -(rows u_0 of H^{-1} E)^{-1}. Returns false (T untouched)
/// when the map does not exist: H not positive definite, or u_0 not moved by d.
/// Mpc: rmpc::mpc::LqMpc after a successful set_parameters (problem().H, exploration_cost).
template <typename Mpc, typename MatrixT>
bool action_exploration_map(const Mpc& mpc, MatrixT& map) {
  using Scalar = typename MatrixT::Scalar;
  using MatrixH = std::decay_t<decltype(mpc.problem().H)>;
  using MatrixE = Eigen::Matrix<Scalar, MatrixH::RowsAtCompileTime, Eigen::Dynamic>;
  const Eigen::Index nu = mpc.sizes().nu, n = mpc.num_variables();
  MatrixE e(n, nu);
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1> unit(nu), column(n);
  for (Eigen::Index j = 0; j < nu; ++j) {
    unit.setZero();
    unit(j) = Scalar(1);
    mpc.exploration_cost(unit, column);
    e.col(j) = column;
  }
  // H's own (fixed-size) type: the factorization the solver's translation unit also uses.
  const Eigen::LLT<MatrixH> llt(mpc.problem().H);
  if (llt.info() != Eigen::Success) return false;
  // k = rows u_0 of H^{-1} E (-Delta u_0 per unit d); map = -k^{-1} by Gauss-Jordan with
  // partial pivoting (nu x nu, nu small: plain loops instead of a general LU's code).
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> k = llt.solve(e).topRows(nu);
  map.setIdentity(nu, nu);
  const Scalar tiny = Eigen::NumTraits<Scalar>::epsilon() * Scalar(nu) * k.cwiseAbs().maxCoeff();
  for (Eigen::Index c = 0; c < nu; ++c) {
    Eigen::Index p = c;
    for (Eigen::Index r = c + 1; r < nu; ++r)
      if (std::abs(k(r, c)) > std::abs(k(p, c))) p = r;
    if (!(std::abs(k(p, c)) > tiny)) return false;  // u_0 not moved by d in some direction
    k.row(p).swap(k.row(c));
    map.row(p).swap(map.row(c));
    const Scalar pivot = k(c, c);
    k.row(c) /= pivot;
    map.row(c) /= pivot;
    for (Eigen::Index r = 0; r < nu; ++r)
      if (r != c) {
        const Scalar f = k(r, c);
        k.row(r) -= f * k.row(c);
        map.row(r) -= f * map.row(c);
      }
  }
  map = -map;
  return map.allFinite();
}

/// eps after `iteration` completed RL iterations.
template <typename Scalar>
Scalar exploration_probability(const ExplorationSettings<Scalar>& s, int iteration) {
  return std::max(s.floor, s.initial_probability * std::pow(s.decay, Scalar(iteration)));
}

}  // namespace rmpc::rl
