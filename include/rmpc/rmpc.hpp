// Umbrella header: everything rmpc offers. One #include line per public header, by part.
//
// Errors (README, "Errors"): programmer errors throw with a message naming the argument or
// setting (sizes: std::invalid_argument; call order: std::logic_error; settings: each
// settings struct's validate(), called by its consumer). Numerical outcomes (infeasible,
// singular, weakly active, NaN theta, rejected step, failed episode) are enum class statuses
// in result structs (info() / .status), never thrown; values are valid only under a good status.
#pragma once

// optim: trust region, curvature models and the update rules of the RL loop.
#include "rmpc/optim/status.hpp"
#include "rmpc/optim/box_bounds.hpp"
#include "rmpc/optim/curvature.hpp"
#include "rmpc/optim/subproblem.hpp"
#include "rmpc/optim/steihaug_cg.hpp"
#include "rmpc/optim/trust_region.hpp"
#include "rmpc/optim/minimize.hpp"
#include "rmpc/optim/fixed_rate.hpp"
#include "rmpc/optim/update_rule.hpp"

// qp: the dense QP solver and its sensitivities.
#include "rmpc/qp/problem.hpp"
#include "rmpc/qp/derivatives.hpp"
#include "rmpc/qp/dense_solver.hpp"
#include "rmpc/qp/two_sided.hpp"
#include "rmpc/qp/sensitivity.hpp"

// mpc: the parameterized LQ-MPC policy.
#include "rmpc/mpc/model.hpp"
#include "rmpc/mpc/riccati.hpp"
#include "rmpc/mpc/condensing.hpp"
#include "rmpc/mpc/policy_result.hpp"
#include "rmpc/mpc/lq_mpc.hpp"
#include "rmpc/mpc/lq_mpc_instantiation.hpp"
#include "rmpc/mpc/derivative_check.hpp"

// learn: critic, replay buffer, k-step targets.
#include "rmpc/learn/learn.hpp"

// rl: the policy-optimization loop.
#include "rmpc/rl/environment.hpp"
#include "rmpc/rl/exploration.hpp"
#include "rmpc/rl/random_streams.hpp"
#include "rmpc/rl/policy_gradient.hpp"
#include "rmpc/rl/parallel.hpp"
#include "rmpc/rl/log.hpp"
#include "rmpc/rl/loop.hpp"
#include "rmpc/rl/model_diagnosis.hpp"
#include "rmpc/rl/paper_preset.hpp"

// version: RMPC_VERSION_STRING, rmpc::version_string.
#include "rmpc/version.hpp"
