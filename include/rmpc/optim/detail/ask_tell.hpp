// The call-order state of the ask/tell cycle (status.hpp), shared by TrustRegion and
// FixedRate: the current point x and gradient g, which call is expected next, the status,
// and the checks at tell_model. Out of the public API.
#pragma once

#include <rmpc/optim/status.hpp>

#include <Eigen/Core>

#include <stdexcept>
#include <string>

namespace rmpc::optim::detail {

template <typename Scalar, int N>
class AskTell {
 protected:
  using Vector = Eigen::Matrix<Scalar, N, 1>;
  enum class Phase { need_model, need_ask, need_value };

  /// `name` prefixes the messages of programmer errors ("TrustRegion", "FixedRate").
  explicit AskTell(const char* name) : name_(name) {}

  Status stop(Status s) {
    status_ = s;
    return s;
  }

  /// tell_model's checks: a wrong size of g throws (std::invalid_argument), a pending step
  /// throws (std::logic_error); false when the rule has stopped or g is not finite (it stops
  /// with non_finite_input). Otherwise stores g.
  bool begin_model(const Eigen::Ref<const Vector>& g) {
    if (g.size() != x_.size())
      throw std::invalid_argument(std::string(name_) + "::tell_model: g has the wrong size");
    if (status_ != Status::running) return false;
    if (phase_ == Phase::need_value)
      throw std::logic_error(std::string(name_) +
                             "::tell_model: tell_value() for the pending step first");
    if (!g.allFinite()) {
      stop(Status::non_finite_input);
      return false;
    }
    g_ = g;
    return true;
  }

  const char* name_;
  Vector x_, g_;  ///< current (accepted) point and the gradient told there
  Phase phase_ = Phase::need_model;
  Status status_ = Status::non_finite_input;
};

}  // namespace rmpc::optim::detail
