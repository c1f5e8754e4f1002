#include "policy.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace rl {

Weights InitialWeights(int in, int hidden, int out, uint64_t seed) {
  Weights w;
  w.in = in;
  w.hidden = hidden;
  w.out = out;
  w.params.assign(static_cast<size_t>(hidden) * in + hidden + out * hidden + out, 0.f);
  std::mt19937_64 rng(seed);
  // Glorot-uniform first layer; a small output layer so the first policy is
  // close to uniform (both actions equally likely).
  std::uniform_real_distribution<float> u1(-std::sqrt(6.f / (in + hidden)),
                                           std::sqrt(6.f / (in + hidden)));
  std::uniform_real_distribution<float> u2(-0.01f, 0.01f);
  float* p = w.params.data();
  for (int i = 0; i < hidden * in; ++i) *p++ = u1(rng);
  p += hidden;  // b1 = 0
  for (int i = 0; i < out * hidden; ++i) *p++ = u2(rng);
  return w;
}

const std::vector<float>& Policy::Probabilities(const float* obs) {
  const int in = w_.in, hidden = w_.hidden, out = w_.out;
  const float* w1 = w_.params;
  const float* b1 = w1 + hidden * in;
  const float* w2 = b1 + hidden;
  const float* b2 = w2 + out * hidden;
  for (int j = 0; j < hidden; ++j) {
    float z = b1[j];
    for (int k = 0; k < in; ++k) z += w1[j * in + k] * obs[k];
    h_[j] = std::tanh(z);
  }
  float max_logit = -INFINITY;
  for (int a = 0; a < out; ++a) {
    float z = b2[a];
    for (int j = 0; j < hidden; ++j) z += w2[a * hidden + j] * h_[j];
    logits_[a] = z;
    max_logit = std::max(max_logit, z);
  }
  float sum = 0;
  for (int a = 0; a < out; ++a) sum += probs_[a] = std::exp(logits_[a] - max_logit);
  for (int a = 0; a < out; ++a) probs_[a] /= sum;
  return probs_;
}

int Policy::Sample(const float* obs, std::mt19937_64& rng, float* prob) {
  const std::vector<float>& p = Probabilities(obs);
  float u = std::uniform_real_distribution<float>(0.f, 1.f)(rng);
  int chosen = w_.out - 1;
  for (int a = 0; a < w_.out - 1; ++a) {
    if (u < p[a]) {
      chosen = a;
      break;
    }
    u -= p[a];
  }
  if (prob != nullptr) *prob = p[chosen];
  return chosen;
}

std::vector<float> ReinforceGradient(const Weights& w, const std::vector<float>& observations,
                                     const std::vector<int32_t>& actions,
                                     const std::vector<float>& advantages,
                                     const std::vector<float>* behaviour, float clip) {
  const int in = w.in, hidden = w.hidden, out = w.out;
  const size_t n = actions.size();
  if (observations.size() != n * in || advantages.size() != n ||
      (behaviour != nullptr && behaviour->size() != n)) {
    throw std::invalid_argument("ReinforceGradient: sizes of observations/actions/advantages differ");
  }
  std::vector<float> grad(w.params.size(), 0.f);
  if (n == 0) return grad;
  const float* w2 = w.params.data() + hidden * in + hidden;
  float* g_w1 = grad.data();
  float* g_b1 = g_w1 + hidden * in;
  float* g_w2 = g_b1 + hidden;
  float* g_b2 = g_w2 + out * hidden;

  Policy policy(ViewOf(w));
  std::vector<float> dlogits(out), dh(hidden);
  const float inv_n = 1.f / static_cast<float>(n);
  for (size_t i = 0; i < n; ++i) {
    const float* s = observations.data() + i * in;
    const std::vector<float>& p = policy.Probabilities(s);
    const std::vector<float>& h = policy.hidden();
    // d(-A log softmax_a)/d logits = A (p - onehot(a)); scaled per sample.
    const float scale = SampleWeight(advantages[i], inv_n, p[actions[i]],
                                     behaviour ? behaviour->data() + i : nullptr, clip);
    for (int a = 0; a < out; ++a) dlogits[a] = scale * (p[a] - (a == actions[i] ? 1.f : 0.f));
    std::fill(dh.begin(), dh.end(), 0.f);
    for (int a = 0; a < out; ++a) {
      g_b2[a] += dlogits[a];
      for (int j = 0; j < hidden; ++j) {
        g_w2[a * hidden + j] += dlogits[a] * h[j];
        dh[j] += w2[a * hidden + j] * dlogits[a];
      }
    }
    for (int j = 0; j < hidden; ++j) {
      const float dz = dh[j] * (1.f - h[j] * h[j]);
      g_b1[j] += dz;
      for (int k = 0; k < in; ++k) g_w1[j * in + k] += dz * s[k];
    }
  }
  return grad;
}

std::vector<float> NormalisedAdvantages(const std::vector<float>& returns_to_go) {
  std::vector<float> adv = returns_to_go;
  if (adv.empty()) return adv;
  double mean = 0, var = 0;
  for (float v : adv) mean += v;
  mean /= adv.size();
  for (float v : adv) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / adv.size()) + 1e-8;
  for (float& v : adv) v = static_cast<float>((v - mean) / sd);
  return adv;
}

void Adam::Step(std::vector<float>& params, const std::vector<float>& grad) {
  ++t_;
  const float c1 = 1.f - std::pow(beta1_, static_cast<float>(t_));
  const float c2 = 1.f - std::pow(beta2_, static_cast<float>(t_));
  for (size_t i = 0; i < params.size(); ++i) {
    m_[i] = beta1_ * m_[i] + (1.f - beta1_) * grad[i];
    v_[i] = beta2_ * v_[i] + (1.f - beta2_) * grad[i] * grad[i];
    params[i] -= lr_ * (m_[i] / c1) / (std::sqrt(v_[i] / c2) + eps_);
  }
}

}  // namespace rl
