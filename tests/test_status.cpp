// The optimizers' statuses (optim/status.hpp): every status has its own name and sentence, the
// failures are exactly the numerical ones, and safe_norm gives the Euclidean norm where the
// plain sum of squares would overflow or underflow (bit-identical to norm() in between).
#include <rmpc/optim/status.hpp>

#include "rmpc_catch.hpp"

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <set>
#include <string>

using rmpc::optim::Status;

namespace {
const Status kAll[] = {
    Status::running,           Status::converged_gradient,   Status::converged_step,
    Status::converged_radius,  Status::max_iterations,       Status::non_finite_input,
    Status::subproblem_failed, Status::non_finite_objective, Status::numerical_overflow};
}  // namespace

TEST_CASE("optim status: one name and one sentence per status; failures are numerical",
          "[status]") {
  std::set<std::string> names, sentences;
  for (Status s : kAll) {
    const std::string name = rmpc::optim::to_string(s), sentence = rmpc::optim::describe(s);
    INFO(name);
    CHECK(name != "unknown");
    // The sentence opens with the status's kind, as the logs read it.
    const bool failure = rmpc::optim::is_failure(s);
    CHECK((sentence.rfind("failed:", 0) == 0) == failure);
    if (name.rfind("converged", 0) == 0) CHECK(sentence.rfind("converged:", 0) == 0);
    names.insert(name);
    sentences.insert(sentence);
  }
  CHECK(names.size() == std::size(kAll));
  CHECK(sentences.size() == std::size(kAll));
  CHECK(rmpc::optim::to_string(static_cast<Status>(99)) == std::string("unknown"));
  CHECK_FALSE(rmpc::optim::is_failure(Status::max_iterations));  // a budget, not a failure
}

TEST_CASE("safe_norm: the norm beyond the range of the sum of squares", "[status]") {
  using rmpc::optim::detail::safe_norm;
  const double big = 1e200, tiny = 1e-200, max = std::numeric_limits<double>::max();
  CHECK(safe_norm(Eigen::Vector2d(3 * big, 4 * big)) == Approx(5 * big).epsilon(1e-15));
  CHECK(safe_norm(Eigen::Vector2d(3 * tiny, 4 * tiny)) == Approx(5 * tiny).epsilon(1e-15));
  // The sum of squares overflows but the norm does not; beyond it, +Inf.
  CHECK(safe_norm(Eigen::Vector2d(max / 2, max / 2)) ==
        Approx(max / std::sqrt(2.0)).epsilon(1e-15));
  CHECK(std::isinf(safe_norm(Eigen::Vector2d(max, max))));
  CHECK(std::isnan(safe_norm(Eigen::Vector2d(std::nan(""), 1.0))));
  // In the normal range: bit-identical to norm() (results do not change where nothing
  // overflows).
  const Eigen::VectorXd v = Eigen::VectorXd::LinSpaced(7, -3.0, 2.5);
  CHECK(safe_norm(v) == v.norm());
  CHECK(safe_norm(Eigen::VectorXf(v.cast<float>())) == v.cast<float>().norm());
}
