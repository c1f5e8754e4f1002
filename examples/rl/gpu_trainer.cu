// GpuTrainer with the CUDA runtime and cuBLAS. cuBLAS is column-major: a
// row-major (rows x cols) array is, to it, the (cols x rows) transpose, so
// every product below is written on those transposed views (see each call).
#include "gpu_trainer.h"
#include "sample_weight.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime.h>

namespace rl {
namespace {

void Check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("GpuTrainer: ") + what + ": " + cudaGetErrorString(e));
  }
}
void Check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("GpuTrainer: ") + what + ": cuBLAS status " +
                             std::to_string(static_cast<int>(s)));
  }
}

template <typename T>
struct DeviceArray {
  T* p = nullptr;
  size_t n = 0;
  ~DeviceArray() { cudaFree(p); }
  void Reserve(size_t want, const char* what) {
    if (want <= n) return;
    cudaFree(p);
    p = nullptr;
    n = 0;
    Check(cudaMalloc(&p, want * sizeof(T)), what);
    n = want;
  }
};

constexpr int kThreads = 256;
unsigned Blocks(size_t n) { return static_cast<unsigned>((n + kThreads - 1) / kThreads); }

// h[i*hidden + j] = tanh(h[...] + b1[j])
__global__ void BiasTanh(float* h, const float* b1, int hidden, size_t total) {
  size_t k = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (k < total) h[k] = tanhf(h[k] + b1[k % hidden]);
}

// Per sample i: logits (+ b2) -> softmax p -> d = w_i (p - onehot(a_i)), in
// place, w_i from SampleWeight (adv_i / n, clipped when behaviour is given).
__global__ void SoftmaxGrad(float* logits, const float* b2, const int32_t* actions,
                            const float* adv, const float* behaviour, int out, size_t n,
                            float inv_n, float clip) {
  size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (i >= n) return;
  float* z = logits + i * out;
  float mx = -INFINITY;
  for (int a = 0; a < out; ++a) mx = fmaxf(mx, z[a] += b2[a]);
  float sum = 0;
  for (int a = 0; a < out; ++a) sum += z[a] = expf(z[a] - mx);
  const float scale = SampleWeight(adv[i], inv_n, z[actions[i]] / sum,
                                   behaviour ? behaviour + i : nullptr, clip);
  for (int a = 0; a < out; ++a) z[a] = scale * (z[a] / sum - (a == actions[i] ? 1.f : 0.f));
}

// dz = dh * (1 - h^2), in place in dh.
__global__ void TanhBackward(float* dh, const float* h, size_t total) {
  size_t k = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (k < total) dh[k] *= 1.f - h[k] * h[k];
}

__global__ void Fill(float* x, float v, size_t n) {
  size_t k = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (k < n) x[k] = v;
}

__global__ void AdamStep(float* p, float* m, float* v, const float* g, size_t n, float lr,
                         float beta1, float beta2, float eps, float c1, float c2) {
  size_t k = blockIdx.x * size_t(blockDim.x) + threadIdx.x;
  if (k >= n) return;
  m[k] = beta1 * m[k] + (1.f - beta1) * g[k];
  v[k] = beta2 * v[k] + (1.f - beta2) * g[k] * g[k];
  p[k] -= lr * (m[k] / c1) / (sqrtf(v[k] / c2) + eps);
}

}  // namespace

struct GpuTrainer::Impl {
  int in, hidden, out, device = 0;
  size_t num_params;
  float lr, clip, beta1, beta2, eps;
  int64_t t = 0;
  std::string name;
  cublasHandle_t blas = nullptr;
  DeviceArray<float> params, grad, m, v;       // num_params each
  DeviceArray<float> obs, adv, behaviour, ones, h, dh, d;  // per batch, grown on demand
  DeviceArray<int32_t> actions;

  ~Impl() {
    if (blas != nullptr) cublasDestroy(blas);
  }

  // grad <- the REINFORCE gradient for the batch (copied to the device here).
  void ComputeGradient(const float* host_obs, const int32_t* host_actions, const float* host_adv,
                       const float* host_behaviour, size_t n) {
    Check(cudaSetDevice(device), "cudaSetDevice");
    if (n == 0) {
      Check(cudaMemset(grad.p, 0, num_params * sizeof(float)), "cudaMemset");
      return;
    }
    obs.Reserve(n * in, "cudaMalloc obs");
    actions.Reserve(n, "cudaMalloc actions");
    adv.Reserve(n, "cudaMalloc advantages");
    h.Reserve(n * hidden, "cudaMalloc hidden");
    dh.Reserve(n * hidden, "cudaMalloc hidden grad");
    d.Reserve(n * out, "cudaMalloc logits");
    if (ones.n < n) {
      ones.Reserve(n, "cudaMalloc ones");
      Fill<<<Blocks(n), kThreads>>>(ones.p, 1.f, n);
    }
    Check(cudaMemcpy(obs.p, host_obs, n * in * sizeof(float), cudaMemcpyHostToDevice), "copy obs");
    Check(cudaMemcpy(actions.p, host_actions, n * sizeof(int32_t), cudaMemcpyHostToDevice),
          "copy actions");
    Check(cudaMemcpy(adv.p, host_adv, n * sizeof(float), cudaMemcpyHostToDevice), "copy adv");
    if (host_behaviour != nullptr) {
      behaviour.Reserve(n, "cudaMalloc behaviour");
      Check(cudaMemcpy(behaviour.p, host_behaviour, n * sizeof(float), cudaMemcpyHostToDevice),
            "copy behaviour");
    }

    const float* w1 = params.p;
    const float* b1 = w1 + size_t(hidden) * in;
    const float* w2 = b1 + hidden;
    const float* b2 = w2 + size_t(out) * hidden;
    float* g_w1 = grad.p;
    float* g_b1 = g_w1 + size_t(hidden) * in;
    float* g_w2 = g_b1 + hidden;
    float* g_b2 = g_w2 + size_t(out) * hidden;
    const float one = 1.f, zero = 0.f;
    const int ni = static_cast<int>(n);

    // H (n x hidden) = X W1^T; column-major: H^T (hidden x n) = W1 X^T.
    Check(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, hidden, ni, in, &one, w1, in, obs.p, in,
                      &zero, h.p, hidden), "gemm hidden");
    BiasTanh<<<Blocks(n * hidden), kThreads>>>(h.p, b1, hidden, n * hidden);
    // Logits (n x out) = H W2^T; column-major: (out x n) = W2 H^T.
    Check(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, out, ni, hidden, &one, w2, hidden, h.p,
                      hidden, &zero, d.p, out), "gemm logits");
    SoftmaxGrad<<<Blocks(n), kThreads>>>(d.p, b2, actions.p, adv.p,
                                         host_behaviour ? behaviour.p : nullptr, out, n,
                                         1.f / ni, clip);
    // g_b2 = sum over samples of D.
    Check(cublasSgemv(blas, CUBLAS_OP_N, out, ni, &one, d.p, out, ones.p, 1, &zero, g_b2, 1),
          "gemv b2");
    // g_W2 (out x hidden) = D^T H; column-major: (hidden x out) = H^T D.
    Check(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, hidden, out, ni, &one, h.p, hidden, d.p, out,
                      &zero, g_w2, hidden), "gemm w2 grad");
    // dH (n x hidden) = D W2; column-major: (hidden x n) = W2^T D^T.
    Check(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, hidden, ni, out, &one, w2, hidden, d.p, out,
                      &zero, dh.p, hidden), "gemm hidden grad");
    TanhBackward<<<Blocks(n * hidden), kThreads>>>(dh.p, h.p, n * hidden);
    Check(cublasSgemv(blas, CUBLAS_OP_N, hidden, ni, &one, dh.p, hidden, ones.p, 1, &zero, g_b1, 1),
          "gemv b1");
    // g_W1 (hidden x in) = dZ^T X; column-major: (in x hidden) = X^T dZ.
    Check(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_T, in, hidden, ni, &one, obs.p, in, dh.p, hidden,
                      &zero, g_w1, in), "gemm w1 grad");
    Check(cudaGetLastError(), "kernel launch");
  }
};

bool GpuTrainer::Available(std::string* why) {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    if (why != nullptr) {
      *why = e != cudaSuccess ? std::string("no usable CUDA device: ") + cudaGetErrorString(e)
                              : "no CUDA device visible";
    }
    return false;
  }
  return true;
}

GpuTrainer::GpuTrainer(int in, int hidden, int out, const float* host_params, float lr, float clip,
                       float beta1, float beta2, float eps)
    : impl_(new Impl) {
  Impl& s = *impl_;
  s.in = in;
  s.hidden = hidden;
  s.out = out;
  s.num_params = size_t(hidden) * in + hidden + size_t(out) * hidden + out;
  s.lr = lr;
  s.clip = clip;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  Check(cudaGetDevice(&s.device), "cudaGetDevice");
  cudaDeviceProp prop{};
  Check(cudaGetDeviceProperties(&prop, s.device), "cudaGetDeviceProperties");
  s.name = std::string(prop.name) + " (device " + std::to_string(s.device) + ")";
  Check(cublasCreate(&s.blas), "cublasCreate");
  s.params.Reserve(s.num_params, "cudaMalloc params");
  s.grad.Reserve(s.num_params, "cudaMalloc grad");
  s.m.Reserve(s.num_params, "cudaMalloc adam m");
  s.v.Reserve(s.num_params, "cudaMalloc adam v");
  Check(cudaMemcpy(s.params.p, host_params, s.num_params * sizeof(float), cudaMemcpyHostToDevice),
        "copy params");
  Check(cudaMemset(s.m.p, 0, s.num_params * sizeof(float)), "cudaMemset m");
  Check(cudaMemset(s.v.p, 0, s.num_params * sizeof(float)), "cudaMemset v");
}

GpuTrainer::~GpuTrainer() = default;

void GpuTrainer::Gradient(const float* observations, const int32_t* actions,
                          const float* advantages, const float* behaviour, size_t n, float* grad) {
  Impl& s = *impl_;
  s.ComputeGradient(observations, actions, advantages, behaviour, n);
  Check(cudaMemcpy(grad, s.grad.p, s.num_params * sizeof(float), cudaMemcpyDeviceToHost),
        "copy grad");
}

void GpuTrainer::Step(const float* observations, const int32_t* actions, const float* advantages,
                      const float* behaviour, size_t n, float* params) {
  Impl& s = *impl_;
  s.ComputeGradient(observations, actions, advantages, behaviour, n);
  ++s.t;
  const float c1 = 1.f - std::pow(s.beta1, static_cast<float>(s.t));
  const float c2 = 1.f - std::pow(s.beta2, static_cast<float>(s.t));
  AdamStep<<<Blocks(s.num_params), kThreads>>>(s.params.p, s.m.p, s.v.p, s.grad.p, s.num_params,
                                                s.lr, s.beta1, s.beta2, s.eps, c1, c2);
  Check(cudaGetLastError(), "adam launch");
  Check(cudaMemcpy(params, s.params.p, s.num_params * sizeof(float), cudaMemcpyDeviceToHost),
        "copy params back");
}

size_t GpuTrainer::NumParams() const { return impl_->num_params; }
const std::string& GpuTrainer::DeviceName() const { return impl_->name; }

}  // namespace rl
