// Must NOT compile: the model writes LqData with nu = 2 for an LqMpc with nu = 1. The
// compile_fail_wrong_nu test checks that the error is LqMpc's one-sentence static_assert.
#include <rmpc/mpc/lq_mpc.hpp>

struct TwoInputModel {
  template <class T>
  void operator()(const Eigen::Matrix<T, 3, 1>& t, rmpc::mpc::LqData<T, 2, 2>& out) const {
    out.A << t(0), T(0.1), T(0.0), t(1);
    out.B.setIdentity();
    out.Q.setIdentity();
    out.R.setIdentity();
    out.P = out.Q * t(2);
  }
};

int main() {
  rmpc::mpc::LqMpc<double, 2, 1, 5, 3> mpc(TwoInputModel{});
  return mpc.sizes().nu == 1 ? 0 : 1;
}
