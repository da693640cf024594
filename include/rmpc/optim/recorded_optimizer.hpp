// An Optimizer (update_rule.hpp) that records the calls that change its state, so that the
// state can be saved and rebuilt exactly (a checkpoint of a learning run, rl/checkpoint.hpp).
//
// Why a record of calls and not a dump of members: every rule here is a deterministic function
// of the sequence reset / ask / tell_model / tell_value it received (given its settings and
// bounds). Replaying the sequence into a new optimizer gives the same accepted point, radius,
// curvature memory (BFGS), Adam moments and ask/tell phase to the last bit, for every rule,
// present and future, with no per-rule state format to keep in step with the code. The record
// grows by one g and one H per model (n + n^2 numbers), small next to the replay memory of the
// same checkpoint.
#pragma once

#include <rmpc/optim/update_rule.hpp>

#include <Eigen/Core>

#include <stdexcept>
#include <string>
#include <vector>

namespace rmpc::optim {

enum class CallKind { reset, ask, tell_model, tell_value };

inline const char* to_string(CallKind k) {
  switch (k) {
    case CallKind::reset: return "reset";
    case CallKind::ask: return "ask";
    case CallKind::tell_model: return "tell_model";
    case CallKind::tell_value: return "tell_value";
  }
  return "unknown";
}

/// The CallKind named `name` (as to_string writes it); throws std::invalid_argument otherwise.
inline CallKind call_kind_from_string(const std::string& name) {
  for (CallKind k : {CallKind::reset, CallKind::ask, CallKind::tell_model, CallKind::tell_value})
    if (name == to_string(k)) return k;
  throw std::invalid_argument("optim::call_kind_from_string: unknown call '" + name + "'");
}

/// One state-changing call and its arguments (run-time sizes, so that a record is plain data).
template <typename Scalar>
struct OptimizerCall {
  CallKind kind = CallKind::ask;
  Eigen::Matrix<Scalar, Eigen::Dynamic, 1>
      vector;  ///< reset: x0 (n); tell_model: g (n); else empty
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> matrix;  ///< tell_model: H (n x n)
  Scalar value = 0;                                              ///< reset: J0; tell_value: J
};

/// Optimizer<Scalar, N> with the record of its calls. Same interface for the calls; read the
/// state through optimizer(). Errors: those of Optimizer; replay() of a record that does not fit
/// (wrong sizes) throws std::invalid_argument naming the call.
template <typename Scalar, int N = Eigen::Dynamic>
class RecordedOptimizer {
 public:
  using Inner = Optimizer<Scalar, N>;
  using Vector = typename Inner::Vector;
  using Matrix = typename Inner::Matrix;
  using Step = typename Inner::Step;
  using Outcome = typename Inner::Outcome;
  using Call = OptimizerCall<Scalar>;

  explicit RecordedOptimizer(OptimizerSettings<Scalar> settings = {}) : inner_(settings) {}

  /// Part of the construction (not recorded): give the same bounds before a replay.
  void set_bounds(const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& lower,
                  const Eigen::Ref<const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>>& upper) {
    inner_.set_bounds(lower, upper);
  }

  void reset(const Eigen::Ref<const Vector>& x0, Scalar J0) {
    Call c;
    c.kind = CallKind::reset;
    c.vector = x0;
    c.value = J0;
    calls_.push_back(std::move(c));
    inner_.reset(x0, J0);
  }
  const Step& ask() {
    calls_.push_back(Call{});
    return inner_.ask();
  }
  Status tell_model(const Eigen::Ref<const Vector>& g, const Eigen::Ref<const Matrix>& H) {
    Call c;
    c.kind = CallKind::tell_model;
    c.vector = g;
    c.matrix = H;
    calls_.push_back(std::move(c));
    return inner_.tell_model(g, H);
  }
  Outcome tell_value(Scalar J_trial) {
    Call c;
    c.kind = CallKind::tell_value;
    c.value = J_trial;
    calls_.push_back(std::move(c));
    return inner_.tell_value(J_trial);
  }

  /// Replays `calls` (the record of an optimizer with the same settings and bounds) into this
  /// one, which must be freshly constructed; afterwards its state and record equal the
  /// recorder's. Call-order errors of a corrupt record throw std::logic_error (Optimizer's).
  void replay(const std::vector<Call>& calls) {
    if (!calls_.empty())
      throw std::logic_error("RecordedOptimizer::replay: the optimizer has calls already");
    const Eigen::Index n = N == Eigen::Dynamic ? Eigen::Index(-1) : Eigen::Index(N);
    for (std::size_t i = 0; i < calls.size(); ++i) {
      const Call& c = calls[i];
      const auto bad = [&](const char* what) {
        return std::invalid_argument("RecordedOptimizer::replay: call " + std::to_string(i) + " (" +
                                     to_string(c.kind) + ") " + what);
      };
      const bool sized = c.kind == CallKind::reset || c.kind == CallKind::tell_model;
      if (sized && (c.vector.size() == 0 || (n >= 0 && c.vector.size() != n)))
        throw bad("has a vector of the wrong size");
      if (c.kind == CallKind::tell_model &&
          (c.matrix.rows() != c.vector.size() || c.matrix.cols() != c.vector.size()))
        throw bad("has a Hessian of the wrong size");
      switch (c.kind) {
        case CallKind::reset: reset(c.vector, c.value); break;
        case CallKind::ask: ask(); break;
        case CallKind::tell_model: tell_model(c.vector, c.matrix); break;
        case CallKind::tell_value: tell_value(c.value); break;
      }
    }
  }

  const Inner& optimizer() const { return inner_; }
  const std::vector<Call>& calls() const { return calls_; }

 private:
  Inner inner_;
  std::vector<Call> calls_;
};

}  // namespace rmpc::optim
