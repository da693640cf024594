// Umbrella header of rmpc::learn, the Q-function critic of method.md section 4: the MLP
// (mlp.hpp, activation.hpp), scalers (scaling.hpp), Adam and losses (adam.hpp), minibatch
// training (training.hpp), the critic with physical-unit dQ/da and d2Q/da2 (critic.hpp),
// the episode-aware replay memory (replay_buffer.hpp), fitted-Q / k-step targets (targets.hpp),
// the fitted-Q critic Q^(1)..Q^(k) (fitted_q.hpp) and the least-squares quadratic critic
// (quadratic_critic.hpp).
#pragma once

#include <rmpc/learn/activation.hpp>
#include <rmpc/learn/adam.hpp>
#include <rmpc/learn/critic.hpp>
#include <rmpc/learn/fitted_q.hpp>
#include <rmpc/learn/mlp.hpp>
#include <rmpc/learn/quadratic_critic.hpp>
#include <rmpc/learn/replay_buffer.hpp>
#include <rmpc/learn/scaling.hpp>
#include <rmpc/learn/targets.hpp>
#include <rmpc/learn/training.hpp>
