#include "flops.h"

namespace lorat {

namespace {

struct Sizes {
  double tokens, search_tokens, dim, hidden;
};

Sizes sizes(const ModelConfig& c) {
  double z = double(c.template_grid()) * c.template_grid(), x = double(c.search_grid()) * c.search_grid();
  return {z + x, x, double(c.dim), double(c.mlp_hidden)};
}

}  // namespace

double forward_flops(const ModelConfig& c) {
  const Sizes s = sizes(c);
  const double N = s.tokens, D = s.dim, h = s.hidden;
  double macs = N * D * 3.0 * c.patch * c.patch;  // patch embedding
  double block = N * D * 3 * D                     // qkv
                 + 2 * N * N * D                   // q k^T and attention x v
                 + N * D * D;                      // proj
  block += c.mlp == "swiglu" ? N * D * 2 * h + N * h * D : 2 * N * D * h;
  macs += c.depth * block;
  macs += s.search_tokens * (2 * (2 * D * D) + D * 1 + D * 4);  // the two head MLPs
  return 2 * macs;
}

double unmerged_lora_flops(const ModelConfig& c, int rank) {
  const Sizes s = sizes(c);
  const double N = s.tokens, D = s.dim, h = s.hidden, r = rank;
  double per_block = 3 * N * r * (D + D) + N * r * (D + D);  // q, k, v and proj: A then B
  per_block += c.mlp == "swiglu" ? N * r * (D + 2 * h) + N * r * (h + D) : N * r * (D + h) + N * r * (h + D);
  return 2 * c.depth * per_block;
}

}  // namespace lorat
