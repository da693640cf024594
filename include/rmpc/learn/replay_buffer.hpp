// Episode-aware replay memory (method.md section 4: "the last 250 episodes"; actor and
// critic use all of it).
//
// A transition is (s, a_prev, a, cost, s', done): cost = L(s, a) of the stage, s' the
// successor state, done = the episode ended with this transition (by a time limit or by a
// true terminal state; targets.hpp decides which via its done_is_truncation flag).
// Storage is contiguous and oldest first: states() etc. are n x size() blocks, so the
// critic features of the whole memory are a few block copies. Capacity counts closed
// episodes: closing one more than `capacity_episodes` evicts the oldest whole episode.
// Eviction advances a start offset; storage is compacted (one memmove per field) only when
// the allocation is full, so pushes are amortised O(1).
#pragma once

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <random>
#include <stdexcept>
#include <vector>

namespace rmpc::learn {

template <typename Scalar_>
class ReplayBuffer {
 public:
  using Scalar = Scalar_;
  using Index = Eigen::Index;
  using Matrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  using Vector = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  using ConstBlock = Eigen::Block<const Matrix>;

  ReplayBuffer() = default;
  /// Dimensions of s and a, and the number of closed episodes kept (paper: 250).
  ReplayBuffer(Index state_dim, Index action_dim, Index capacity_episodes)
      : state_dim_(state_dim), action_dim_(action_dim), capacity_episodes_(capacity_episodes) {
    if (state_dim < 1 || action_dim < 1)
      throw std::invalid_argument("ReplayBuffer: state_dim and action_dim must be >= 1");
    if (capacity_episodes < 1)
      throw std::invalid_argument("ReplayBuffer: capacity_episodes must be >= 1");
    reserve(64);
  }

  Index state_dim() const { return state_dim_; }
  Index action_dim() const { return action_dim_; }
  Index capacity_episodes() const { return capacity_episodes_; }

  /// Transitions stored (closed episodes plus the open one).
  Index size() const { return end_ - begin_; }
  bool empty() const { return size() == 0; }
  /// Episodes stored, counting an open (not yet closed) episode that has transitions.
  Index num_episodes() const {
    return static_cast<Index>(lengths_.size()) + (open_length_ > 0 ? 1 : 0);
  }
  /// Closed episodes evicted so far (the oldest ones).
  std::int64_t evicted_episodes() const { return evicted_; }

  /// Appends one transition to the open episode.
  void push(const Eigen::Ref<const Vector>& s, const Eigen::Ref<const Vector>& a_prev,
            const Eigen::Ref<const Vector>& a, Scalar cost, const Eigen::Ref<const Vector>& s_next,
            bool done) {
    if (state_dim_ == 0)
      throw std::invalid_argument("ReplayBuffer::push: buffer constructed without dimensions");
    if (s.size() != state_dim_)
      throw std::invalid_argument("ReplayBuffer::push: s has the wrong size");
    if (s_next.size() != state_dim_)
      throw std::invalid_argument("ReplayBuffer::push: s_next has the wrong size");
    if (a.size() != action_dim_)
      throw std::invalid_argument("ReplayBuffer::push: a has the wrong size");
    if (a_prev.size() != action_dim_)
      throw std::invalid_argument("ReplayBuffer::push: a_prev has the wrong size");
    if (!s.allFinite() || !s_next.allFinite() || !a.allFinite() || !a_prev.allFinite() ||
        !std::isfinite(cost))
      throw std::invalid_argument("ReplayBuffer::push: transition has NaN/Inf");
    if (end_ == s_.cols()) make_room();
    s_.col(end_) = s;
    a_prev_.col(end_) = a_prev;
    a_.col(end_) = a;
    cost_(end_) = cost;
    s_next_.col(end_) = s_next;
    done_(end_) = done ? Scalar(1) : Scalar(0);
    ++end_;
    ++open_length_;
  }

  /// Closes the open episode (no-op when it is empty) and evicts the oldest closed episodes
  /// beyond capacity.
  void end_episode() {
    if (open_length_ == 0) return;
    lengths_.push_back(open_length_);
    open_length_ = 0;
    while (static_cast<Index>(lengths_.size()) > capacity_episodes_) {
      begin_ += lengths_.front();
      lengths_.pop_front();
      ++evicted_;
    }
  }

  /// Appends a whole episode (columns are steps) and closes it.
  void add_episode(const Eigen::Ref<const Matrix>& s, const Eigen::Ref<const Matrix>& a_prev,
                   const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Vector>& cost,
                   const Eigen::Ref<const Matrix>& s_next, const std::vector<bool>& done) {
    const Index t = s.cols();
    if (a_prev.cols() != t || a.cols() != t || cost.size() != t || s_next.cols() != t ||
        static_cast<Index>(done.size()) != t)
      throw std::invalid_argument(
          "ReplayBuffer::add_episode: all fields need the same number of steps");
    if (open_length_ != 0)
      throw std::invalid_argument("ReplayBuffer::add_episode: an episode is open");
    for (Index i = 0; i < t; ++i)
      push(s.col(i), a_prev.col(i), a.col(i), cost(i), s_next.col(i),
           done[static_cast<std::size_t>(i)]);
    end_episode();
  }

  void clear() {
    begin_ = end_ = 0;
    lengths_.clear();
    open_length_ = 0;
  }

  // Contiguous views of all stored transitions, oldest first (column i = transition i).
  ConstBlock states() const { return const_block(s_); }
  ConstBlock prev_actions() const { return const_block(a_prev_); }
  ConstBlock actions() const { return const_block(a_); }
  ConstBlock next_states() const { return const_block(s_next_); }
  Eigen::VectorBlock<const Vector> costs() const { return cost_.segment(begin_, size()); }
  /// done flags as 0/1 values.
  Eigen::VectorBlock<const Vector> dones() const { return done_.segment(begin_, size()); }
  bool done(Index i) const { return done_(begin_ + i) != Scalar(0); }

  /// Length of stored episode e (0 = oldest; the open episode, if any, is last).
  Index episode_length(Index e) const {
    if (e < static_cast<Index>(lengths_.size())) return lengths_[static_cast<std::size_t>(e)];
    if (e == static_cast<Index>(lengths_.size()) && open_length_ > 0) return open_length_;
    throw std::invalid_argument("ReplayBuffer::episode_length: e out of range");
  }
  /// Index of the first transition of every stored episode, plus size() at the end.
  std::vector<Index> episode_starts() const {
    std::vector<Index> starts;
    starts.reserve(lengths_.size() + 2);
    Index at = 0;
    for (Index len : lengths_) {
      starts.push_back(at);
      at += len;
    }
    if (open_length_ > 0) starts.push_back(at);
    starts.push_back(size());
    return starts;
  }

  /// `count` indices drawn uniformly with replacement from [0, size()).
  std::vector<Index> sample_indices(Index count, std::mt19937_64& rng) const {
    if (empty()) throw std::invalid_argument("ReplayBuffer::sample_indices: buffer is empty");
    std::uniform_int_distribution<Index> pick(0, size() - 1);
    std::vector<Index> idx(static_cast<std::size_t>(count));
    for (auto& i : idx) i = pick(rng);
    return idx;
  }

 private:
  ConstBlock const_block(const Matrix& m) const {
    return ConstBlock(m, 0, begin_, m.rows(), size());
  }

  void reserve(Index cols) {
    s_.conservativeResize(state_dim_, cols);
    a_prev_.conservativeResize(action_dim_, cols);
    a_.conservativeResize(action_dim_, cols);
    cost_.conservativeResize(cols);
    s_next_.conservativeResize(state_dim_, cols);
    done_.conservativeResize(cols);
  }

  // Full allocation: drop evicted columns if that frees at least half, else double.
  void make_room() {
    const Index n = size();
    if (begin_ > 0 && 2 * begin_ >= s_.cols()) {
      shift(s_, n);
      shift(a_prev_, n);
      shift(a_, n);
      shift(cost_, n);
      shift(s_next_, n);
      shift(done_, n);
      begin_ = 0;
      end_ = n;
    } else {
      reserve(2 * s_.cols());
    }
  }
  template <typename M>
  void shift(M& m, Index n) {
    const Index per_column =
        M::ColsAtCompileTime == 1 ? 1 : m.rows();  // vectors: one entry per transition
    std::memmove(m.data(), m.data() + begin_ * per_column,
                 static_cast<std::size_t>(n * per_column) * sizeof(Scalar));
  }

  Index state_dim_ = 0, action_dim_ = 0, capacity_episodes_ = 0;
  Matrix s_, a_prev_, a_, s_next_;
  Vector cost_, done_;
  Index begin_ = 0, end_ = 0;  // stored columns are [begin_, end_)
  std::deque<Index> lengths_;  // closed episodes, oldest first
  Index open_length_ = 0;
  std::int64_t evicted_ = 0;
};

}  // namespace rmpc::learn
