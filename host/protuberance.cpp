// Protuberance: parameter checks, schema rules and the dispatch point (the CPU engine is in
// protuberance_cpu.cpp).

#include "playaug/protuberance.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

#include "cpu_impl.hpp"
#include "cuda_impl.hpp"
#include "detail/expects.hpp"
#include "playaug/error.hpp"

namespace playaug {

void protuberance_params::validate() const {
  using detail::expects;
  expects(p >= 0.0f && p < 1.0f, "protuberance", "p must be in [0, 1), got ", p);
  expects(phi >= 0.0f && phi <= 1.0f, "protuberance", "phi must be in [0, 1], got ", phi);
  switch (stream) {
    case purpose::reverse:
    case purpose::protuberance:
    case purpose::requery:
    case purpose::synth:
      break;
    default:
      detail::fail_precondition("protuberance", "unknown random stream purpose ", static_cast<int>(stream));
  }
}

feature_rules make_feature_rules(const feature_schema& schema, bool raw) {
  const std::size_t d = schema.dim();
  feature_rules out;
  out.rule.assign(d, feature_rule::free);
  out.lo.assign(d, -std::numeric_limits<float>::infinity());
  out.hi.assign(d, std::numeric_limits<float>::infinity());
  if (raw) return out;
  for (std::size_t j = 0; j < d; ++j) {
    const feature_spec& s = schema[j];
    switch (s.kind) {
      case feature_kind::categorical:
      case feature_kind::binary:
        out.rule[j] = feature_rule::keep;
        break;
      case feature_kind::unit_interval:
        out.rule[j] = feature_rule::clamp;
        out.lo[j] = static_cast<float>(s.lo);
        out.hi[j] = static_cast<float>(s.hi);
        break;
      case feature_kind::decibels:
      case feature_kind::tempo:
      case feature_kind::continuous:
        // x * (1 + u) with |u| < 1 keeps the sign, so these stay in their natural ranges.
        out.rule[j] = feature_rule::free;
        break;
    }
  }
  return out;
}

void protuberance(const resources& res, matrix_view<float> x,
                  vector_view<const std::uint64_t> offsets, const feature_schema& schema,
                  const protuberance_params& prm, std::uint32_t copy,
                  std::uint64_t first_playlist) {
  using detail::expects;
  const char* op = "protuberance";
  prm.validate();
  detail::expect_data(op, "x", x);
  detail::expect_data(op, "offsets", offsets);
  detail::expect_shape(op, {"x", x.cols, "columns"}, {"the schema", schema.dim(), "features"});
  expects(offsets.size != 0, op, "offsets needs playlists + 1 entries, got 0");
  detail::expect_same_space(op, "x", x, "offsets", offsets);
  detail::expect_host_memory(res, op, "x", x);
  expects(copy <= 0xFFFFFFu, op, "copy index ", copy, " exceeds 2^24 - 1");
  const std::uint64_t playlists = offsets.size - 1;
  expects(first_playlist <= (std::uint64_t{1} << 32) && playlists <= (std::uint64_t{1} << 32) - first_playlist, op,
          "playlist indices beyond 2^32 cannot be addressed by the random layout");
  if (offsets.space == memory_space::host) {
    expects(offsets[0] == 0, op, "offsets[0] must be 0");
    for (std::size_t i = 0; i < playlists; ++i) {
      expects(offsets[i + 1] >= offsets[i], op, "offsets must be non-decreasing (offsets[", i + 1, "] < offsets[", i,
              "])");
    }
    expects(offsets[playlists] == x.rows, op, "offsets end at ", offsets[playlists], " but x has ", x.rows, " rows");
  }
  const feature_rules rules = make_feature_rules(schema, prm.raw);
  if (res.is_cuda()) return cuda_impl::protuberance(res, x, offsets, rules, prm, copy, first_playlist);
  cpu_impl::protuberance(res, x, offsets, rules, prm, copy, first_playlist);
}

}  // namespace playaug
