// Must NOT compile: the environment's step() is not const (episodes run in parallel on one
// const environment). The compile_fail_non_const_environment test checks that the error is
// run_episode's one-sentence static_assert (rl/environment.hpp).
#include <rmpc/rl/environment.hpp>

struct Cart {
  Eigen::Vector2d step(const Eigen::Vector2d& s, const Eigen::Matrix<double, 1, 1>& a) {
    return Eigen::Vector2d(s(0) + 0.1 * s(1), s(1) + 0.1 * a(0));
  }
  double cost(const Eigen::Vector2d& s, const Eigen::Matrix<double, 1, 1>& a) const {
    return s.squaredNorm() + a.squaredNorm();
  }
};

int main() {
  rmpc::rl::Episode<double, 2, 1> episode;
  rmpc::rl::run_episode<double, 2, 1>(
      Cart{}, Eigen::Vector2d(1, 0), 10,
      [](const Eigen::Vector2d& s, const Eigen::Matrix<double, 1, 1>&, int,
         Eigen::Matrix<double, 1, 1>& a) {
        a(0) = -s(0);
        return true;
      },
      episode);
  return episode.length == 10 ? 0 : 1;
}
