// Element-wise activations of the critic MLP and their first and second derivatives.
//
// The second derivative is needed because d2Q/da2 (method.md section 4) is propagated
// forward through the layers: for a = sigma(z), d2a = sigma''(z) dz dz' + sigma'(z) d2z.
// Derivatives are written in terms of the activation value where that is cheaper
// (tanh: 1 - a^2; sigmoid: a (1 - a)), which is what backpropagation stores anyway.
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace rmpc::learn {

enum class Activation {
  identity,  ///< a = z.
  tanh,      ///< a = tanh z.
  sigmoid,   ///< a = 1 / (1 + e^-z).
  softplus,  ///< a = log(1 + e^z), evaluated stably.
};

inline const char* to_string(Activation a) {
  switch (a) {
    case Activation::identity: return "identity";
    case Activation::tanh: return "tanh";
    case Activation::sigmoid: return "sigmoid";
    case Activation::softplus: return "softplus";
  }
  return "unknown";
}

inline Activation activation_from_string(const std::string& name) {
  if (name == "identity" || name == "linear") return Activation::identity;
  if (name == "tanh") return Activation::tanh;
  if (name == "sigmoid" || name == "logistic") return Activation::sigmoid;
  if (name == "softplus") return Activation::softplus;
  throw std::invalid_argument("activation_from_string: unknown activation name '" + name + "'");
}

namespace detail {

// Logistic function through exp(-|z|) so that neither branch overflows; vectorised exp.
template <typename ArrayIn, typename ArrayOut>
void logistic(const ArrayIn& z, ArrayOut& out) {
  using Scalar = typename ArrayOut::Scalar;
  // e = exp(-|z|) in (0, 1]; sigma(z) = 1/(1+e) for z >= 0 and e/(1+e) otherwise.
  out = (-z.abs()).exp();
  out = (z >= Scalar(0)).select(Scalar(1) / (Scalar(1) + out), out / (Scalar(1) + out));
}

}  // namespace detail

/// a = sigma(z) element-wise. `z` and `a` may not alias.
template <typename DerivedZ, typename DerivedA>
void activate(Activation kind, const Eigen::ArrayBase<DerivedZ>& z,
              const Eigen::ArrayBase<DerivedA>& a_out) {
  using Scalar = typename DerivedA::Scalar;
  auto& out = const_cast<DerivedA&>(
      a_out.derived());  // Eigen idiom: writable expressions arrive as const&.
  switch (kind) {
    case Activation::identity: out = z; return;
    case Activation::tanh:
      if constexpr (std::is_same<Scalar, float>::value) {
        out = z.tanh();  // Eigen vectorises tanh for float only.
      } else {
        // tanh z = 1 - 2 / (e^{2z} + 1): vectorised exp; absolute error ~ eps near z = 0.
        // Clamp keeps e^{2z} finite (tanh(20) == 1 to double precision).
        out = Scalar(1) -
              Scalar(2) / ((Scalar(2) * z.min(Scalar(20)).max(Scalar(-20))).exp() + Scalar(1));
      }
      return;
    case Activation::sigmoid: detail::logistic(z.derived(), out); return;
    case Activation::softplus:
      // log(1 + e^z) = max(z, 0) + log1p(e^{-|z|}).
      out = z.max(Scalar(0)) + ((-z.abs()).exp()).log1p();
      return;
  }
}

/// sigma'(z) element-wise, given z and a = sigma(z).
template <typename DerivedZ, typename DerivedA, typename DerivedD>
void activate_derivative(Activation kind, const Eigen::ArrayBase<DerivedZ>& z,
                         const Eigen::ArrayBase<DerivedA>& a,
                         const Eigen::ArrayBase<DerivedD>& d1_out) {
  using Scalar = typename DerivedD::Scalar;
  auto& out = const_cast<DerivedD&>(d1_out.derived());
  switch (kind) {
    case Activation::identity: out.setOnes(); return;
    case Activation::tanh: out = Scalar(1) - a.square(); return;
    case Activation::sigmoid: out = a * (Scalar(1) - a); return;
    case Activation::softplus: detail::logistic(z.derived(), out); return;
  }
}

/// sigma''(z) element-wise, given a = sigma(z) and d1 = sigma'(z).
template <typename DerivedA, typename DerivedD1, typename DerivedD2>
void activate_second_derivative(Activation kind, const Eigen::ArrayBase<DerivedA>& a,
                                const Eigen::ArrayBase<DerivedD1>& d1,
                                const Eigen::ArrayBase<DerivedD2>& d2_out) {
  using Scalar = typename DerivedD2::Scalar;
  auto& out = const_cast<DerivedD2&>(d2_out.derived());
  switch (kind) {
    case Activation::identity: out.setZero(); return;
    case Activation::tanh: out = Scalar(-2) * a * d1; return;  // (1 - t^2)' = -2 t t'
    case Activation::sigmoid:
      out = d1 * (Scalar(1) - Scalar(2) * a);
      return;                                                        // (s(1-s))' = s'(1-2s)
    case Activation::softplus: out = d1 * (Scalar(1) - d1); return;  // softplus' = logistic
  }
}

}  // namespace rmpc::learn
