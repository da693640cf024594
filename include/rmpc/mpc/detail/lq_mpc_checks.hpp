// LqMpc's argument and model checks: the compile-time sizes against the run-time ones,
// the user model's matrix sizes (a programmer error: std::invalid_argument naming the
// argument) and its values at theta (data a learning step can produce: a status with
// setup_message()). Out-of-class definitions of rmpc/mpc/lq_mpc.hpp, included only from
// there (not implicitly inline, like detail/lq_mpc_setup.hpp).
//
// Argument checks. Every public entry checks the sizes of its arguments BEFORE converting
// them to the (possibly fixed-size) internal types, and throws std::invalid_argument naming
// the argument on a mismatch (a programmer error). Data that a learning step can produce
// (a NaN theta, a model that is not convex at theta, u_lb > u_ub at theta) is a status
// (set_parameters() returns invalid_input / non_convex, setup_message() says why), never a
// throw.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>

namespace rmpc::mpc {

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename DerivedTheta>
qp::Status LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::set_parameters(
    const Eigen::MatrixBase<DerivedTheta>& theta) {
  if (theta.cols() != 1 || theta.rows() != sizes_.np)
    throw std::invalid_argument("LqMpc::set_parameters: theta is " + std::to_string(theta.rows()) +
                                "x" + std::to_string(theta.cols()) +
                                ", expected a vector of np = " + std::to_string(sizes_.np) +
                                " entries");
  // A copy: theta may alias theta_, which allocate() resets.
  VectorTheta theta_in(sizes_.np);
  detail::assign_checked(theta_in, theta);
  return detail::LqMpcSetup<LqMpc>::set_parameters(*this, theta_in);
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::check_sizes() const {
  auto check = [](int ct, Eigen::Index rt, const char* name) {
    if (ct != Eigen::Dynamic && ct != rt)
      throw std::invalid_argument(std::string("LqMpc: sizes.") + name +
                                  " differs from its compile-time size");
    if (rt < 0 || (rt == 0 && std::string(name) != "nc" && std::string(name) != "np" &&
                   std::string(name) != "ns"))
      throw std::invalid_argument(std::string("LqMpc: sizes.") + name + " must be positive");
  };
  check(NX, sizes_.nx, "nx");
  check(NU, sizes_.nu, "nu");
  check(N, sizes_.horizon, "horizon");
  check(NP, sizes_.np, "np");
  check(NC, sizes_.nc, "nc");
  check(NS, sizes_.ns, "ns");
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
bool LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::check_model_values(const Data& data) {
  auto finite = [this](const auto& mat, const char* name) {
    if (mat.allFinite()) return true;
    setup_message_ = std::string("the model set NaN/Inf entries in ") + name;
    return false;
  };
  if (!(finite(data.A, "A") && finite(data.B, "B") && finite(data.b, "b") && finite(data.Q, "Q") &&
        finite(data.q, "q") && finite(data.R, "R") && finite(data.r, "r") && finite(data.P, "P") &&
        finite(data.p, "p") && finite(data.E_x, "E_x") && finite(data.E_u, "E_u")))
    return false;
  auto bounds = [this](const auto& lb, const auto& ub, const auto& w, const char* lb_name,
                       const char* ub_name) {
    for (Eigen::Index i = 0; i < lb.size(); ++i) {
      const std::string idx = "(" + std::to_string(i) + ")";
      if (std::isnan(lb(i)) || std::isnan(ub(i)) ||
          lb(i) == std::numeric_limits<Scalar>::infinity() ||
          ub(i) == -std::numeric_limits<Scalar>::infinity()) {
        setup_message_ = std::string(lb_name) + idx + " / " + ub_name + idx +
                         " is NaN or an empty infinite bound";
        return false;
      }
      // A hard component with lb > ub makes every QP infeasible; a soft one is a valid penalty.
      if (lb(i) > ub(i) && !(w(i) < std::numeric_limits<Scalar>::infinity())) {
        setup_message_ = std::string(lb_name) + idx + " = " + std::to_string(double(lb(i))) +
                         " > " + ub_name + idx + " = " + std::to_string(double(ub(i))) +
                         " (hard bound: every QP would be infeasible)";
        return false;
      }
    }
    return true;
  };
  if (!bounds(data.u_lb, data.u_ub, data.u_soft_weight, "u_lb", "u_ub")) return false;
  if (!bounds(data.x_lb, data.x_ub, data.x_soft_weight, "x_lb", "x_ub")) return false;
  for (Eigen::Index i = 0; i < data.e.size(); ++i)
    if (std::isnan(data.e(i)) || data.e(i) == -std::numeric_limits<Scalar>::infinity()) {
      setup_message_ = "e(" + std::to_string(i) + ") is NaN or -inf";
      return false;
    }
  return true;
}

template <typename Scalar, int NX, int NU, int N, int NP, int NC, int NS, int MaxOrder>
template <typename ModelData>
void LqMpc<Scalar, NX, NU, N, NP, NC, NS, MaxOrder>::check_model_sizes(
    const ModelData& data) const {
  const Eigen::Index nx = sizes_.nx, nu = sizes_.nu, nc = sizes_.nc;
  auto check = [](const auto& mat, Eigen::Index r, Eigen::Index c, const char* name,
                  const char* expected) {
    if (mat.rows() != r || mat.cols() != c)
      throw std::invalid_argument(std::string("LqMpc::set_parameters: the model set ") + name +
                                  " to " + std::to_string(mat.rows()) + "x" +
                                  std::to_string(mat.cols()) + ", expected " + expected + " = " +
                                  std::to_string(r) + "x" + std::to_string(c));
  };
  check(data.A, nx, nx, "A", "nx x nx");
  check(data.B, nx, nu, "B", "nx x nu");
  check(data.b, nx, 1, "b", "nx x 1");
  check(data.Q, nx, nx, "Q", "nx x nx");
  check(data.q, nx, 1, "q", "nx x 1");
  check(data.R, nu, nu, "R", "nu x nu");
  check(data.r, nu, 1, "r", "nu x 1");
  check(data.P, nx, nx, "P", "nx x nx");
  check(data.p, nx, 1, "p", "nx x 1");
  check(data.u_lb, nu, 1, "u_lb", "nu x 1");
  check(data.u_ub, nu, 1, "u_ub", "nu x 1");
  check(data.u_soft_weight, nu, 1, "u_soft_weight", "nu x 1");
  check(data.u_soft_quadratic, nu, 1, "u_soft_quadratic", "nu x 1");
  check(data.x_lb, nx, 1, "x_lb", "nx x 1");
  check(data.x_ub, nx, 1, "x_ub", "nx x 1");
  check(data.x_soft_weight, nx, 1, "x_soft_weight", "nx x 1");
  check(data.x_soft_quadratic, nx, 1, "x_soft_quadratic", "nx x 1");
  check(data.E_x, nc, nx, "E_x", "nc x nx");
  check(data.E_u, nc, nu, "E_u", "nc x nu");
  check(data.e, nc, 1, "e", "nc x 1");
  check(data.e_soft_weight, nc, 1, "e_soft_weight", "nc x 1");
  check(data.e_soft_quadratic, nc, 1, "e_soft_quadratic", "nc x 1");
}

}  // namespace rmpc::mpc
