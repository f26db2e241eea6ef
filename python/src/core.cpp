// playaug._core: the nanobind layer over the public C++ API (include/playaug/).
//
// Thin by design: every function converts arguments, releases the GIL, calls one public
// library function and converts the result. The Python API with its docstrings lives in
// python/playaug/*.py; nothing here is meant to be called by users directly.
//
// Memory rules:
//   - arrays returned from a Dataset are views of the library's memory (no copy); they
//     keep the Dataset alive;
//   - arrays passed in are taken without copying (DLPack / buffer protocol: NumPy,
//     PyTorch, CuPy); their device decides the memory space, and CUDA work is ordered on
//     the stream the caller names (0: the library's own non-blocking stream).

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "playaug/augment.hpp"
#include "playaug/catalog.hpp"
#include "playaug/dataset.hpp"
#include "playaug/error.hpp"
#include "playaug/io.hpp"
#include "playaug/moments.hpp"
#include "playaug/pca.hpp"
#include "playaug/pca_aggregate.hpp"
#include "playaug/protuberance.hpp"
#include "playaug/requery.hpp"
#include "playaug/resources.hpp"
#include "playaug/reverse.hpp"
#include "playaug/synth.hpp"
#include "playaug/synth_model.hpp"
#include "playaug/version.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace playaug::python {
namespace {

using release_gil = nb::call_guard<nb::gil_scoped_release>;

// --- arrays --------------------------------------------------------------------------

/// Any framework's C-contiguous float32 matrix, on the CPU or a CUDA device.
template <typename T>
using matrix_in = nb::ndarray<T, nb::ndim<2>, nb::c_contig>;
template <typename T>
using vector_in = nb::ndarray<T, nb::ndim<1>, nb::c_contig>;

memory_space space_of(int device_type) {
  if (device_type == nb::device::cpu::value) return memory_space::host;
  if (device_type == nb::device::cuda::value) return memory_space::device;
  throw usage_error("arrays must live in CPU memory or on a CUDA device (DLPack device type " +
                    std::to_string(device_type) + ")");
}

template <typename T, typename A>
matrix_view<T> as_matrix(A& a) {
  return {static_cast<T*>(a.data()), a.shape(0), a.shape(1), space_of(a.device_type())};
}
template <typename T, typename A>
vector_view<T> as_vector(A& a) {
  return {static_cast<T*>(a.data()), a.shape(0), space_of(a.device_type())};
}

/// Execution resources for arrays on `device_type`: the CPU, or the CUDA engine on the
/// caller's stream (a cudaStream_t as an integer; 0 = the library's own stream).
resources resources_for(int device_type, std::uintptr_t stream, const std::string& device,
                        int threads) {
  if (device_type == nb::device::cuda::value) {
    if (stream != 0) return resources(reinterpret_cast<stream_handle>(stream), threads);
    return resources(backend::cuda, threads);
  }
  return resources(device == "cuda" ? backend::cuda : backend::cpu, threads);
}

/// A host vector as a NumPy array that owns a copy (d x d results and similar).
template <typename T>
nb::object numpy_copy(const T* data, std::initializer_list<std::size_t> shape) {
  std::size_t n = 1;
  for (auto s : shape) n *= s;
  auto* owned = new std::vector<T>(data, data + n);
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  nb::ndarray<nb::numpy, T> a(owned->data(), shape, owner);
  return nb::cast(a, nb::rv_policy::reference);  // the capsule owns the copy
}
template <typename T>
nb::object numpy_copy(const std::vector<T>& v) {
  return numpy_copy(v.data(), {v.size()});
}

/// A read-only NumPy view of `data` owned by Python object `owner`.
template <typename T>
nb::object numpy_view(const T* data, std::initializer_list<std::size_t> shape, nb::handle owner) {
  nb::ndarray<nb::numpy, const T> a(const_cast<T*>(data), shape, owner);
  return nb::cast(a, nb::rv_policy::reference);
}

// --- datasets ------------------------------------------------------------------------

/// offsets as int64 for Python (the library stores uint64; values never exceed 2^63).
nb::object offsets_view(const std::vector<std::uint64_t>& v, nb::handle owner) {
  return numpy_view(reinterpret_cast<const std::int64_t*>(v.data()), {v.size()}, owner);
}

/// The schema of d features named `names` (empty: the reader's default for d, Spotify's 11
/// when d == 11). Spotify's feature names keep their kinds (key and mode kept, unit-interval
/// features clamped by protuberance); other names are continuous.
feature_schema schema_from_names(const std::vector<std::string>& names, std::size_t d) {
  if (names.empty()) return feature_schema::for_dim(d);
  if (names.size() != d) {
    throw usage_error("feature_names has " + std::to_string(names.size()) + " entries, features have " +
                      std::to_string(d) + " columns");
  }
  const feature_schema sp = feature_schema::spotify();
  std::vector<feature_spec> specs;
  for (const auto& n : names) {
    const int i = sp.find(n);
    specs.push_back(i >= 0 ? sp[static_cast<std::size_t>(i)] : feature_spec{n});
  }
  return feature_schema(std::move(specs));
}

dataset dataset_from_arrays(matrix_in<const float> features, vector_in<const std::int64_t> offsets,
                            std::vector<std::string> ids,
                            std::vector<std::vector<std::vector<std::int32_t>>> moods,
                            std::vector<std::string> feature_names, std::vector<bool> null_features) {
  if (features.device_type() != nb::device::cpu::value) {
    throw usage_error("features: Dataset arrays must be in CPU memory");
  }
  const std::size_t n_songs = features.shape(0), d = features.shape(1);
  const std::size_t P = offsets.shape(0) == 0 ? 0 : offsets.shape(0) - 1;
  const std::int64_t* off = offsets.data();
  if (offsets.shape(0) == 0 || off[0] != 0 || static_cast<std::size_t>(off[P]) != n_songs) {
    throw usage_error("offsets must start at 0 and end at features.shape[0] (" +
                      std::to_string(n_songs) + ")");
  }
  if (ids.size() != P) {
    throw usage_error("ids has " + std::to_string(ids.size()) + " entries, offsets describe " +
                      std::to_string(P) + " playlists");
  }
  if (moods.size() != P) {
    throw usage_error("moods has " + std::to_string(moods.size()) + " entries, offsets describe " +
                      std::to_string(P) + " playlists");
  }
  if (!null_features.empty() && null_features.size() != P) {
    throw usage_error("null_features has " + std::to_string(null_features.size()) +
                      " entries, offsets describe " + std::to_string(P) + " playlists");
  }
  dataset ds;
  ds.dim = d;
  ds.schema = schema_from_names(feature_names, d);
  ds.features.reserve(n_songs * d);
  for (std::size_t p = 0; p < P; ++p) {
    if (off[p + 1] < off[p]) throw usage_error("offsets must be non-decreasing");
    const bool is_null = !null_features.empty() && null_features[p];
    const auto n = static_cast<std::size_t>(off[p + 1] - off[p]);
    if (is_null && n != 0) {
      throw usage_error("playlist " + std::to_string(p) + " is flagged null but has songs");
    }
    ds.add_playlist(ids[p], moods[p], features.data() + off[p] * d, n, is_null);
  }
  ds.validate();
  return ds;
}

/// A dataset from its flat layout (dataset.hpp), as columnar formats hold it: one copy of
/// each array into the library's own buffers, then validate() checks every invariant.
dataset dataset_from_flat(matrix_in<const float> features, vector_in<const std::int64_t> song_offsets,
                          vector_in<const std::int64_t> segment_offsets, vector_in<const std::int64_t> mood_offsets,
                          vector_in<const std::int32_t> moods, std::vector<std::string> ids,
                          std::vector<std::string> feature_names, vector_in<const std::uint8_t> null_features,
                          std::vector<std::string> track_ids) {
  for (int t : {features.device_type(), song_offsets.device_type(), segment_offsets.device_type(),
                mood_offsets.device_type(), moods.device_type(), null_features.device_type()}) {
    if (t != nb::device::cpu::value) throw usage_error("Dataset arrays must be in CPU memory");
  }
  const auto offsets = [](const vector_in<const std::int64_t>& a, const char* name) {
    std::vector<std::uint64_t> v(a.shape(0));
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (a.data()[i] < 0) throw usage_error(std::string(name) + " must not be negative");
      v[i] = static_cast<std::uint64_t>(a.data()[i]);
    }
    return v;
  };
  dataset ds;
  ds.dim = features.shape(1);
  ds.schema = schema_from_names(feature_names, ds.dim);
  ds.ids = std::move(ids);
  ds.song_offsets = offsets(song_offsets, "offsets");
  ds.segment_offsets = offsets(segment_offsets, "segment_offsets");
  ds.mood_offsets = offsets(mood_offsets, "mood_offsets");
  ds.moods.assign(moods.data(), moods.data() + moods.shape(0));
  ds.null_features.assign(null_features.data(), null_features.data() + null_features.shape(0));
  ds.features.assign(features.data(), features.data() + features.shape(0) * features.shape(1));
  ds.track_ids = std::move(track_ids);
  ds.validate();
  return ds;
}

nb::list playlist_moods(const dataset& ds, std::size_t p) {
  nb::list segs;
  for (std::uint64_t s = ds.segment_offsets[p]; s < ds.segment_offsets[p + 1]; ++s) {
    nb::list seg;
    for (std::uint64_t i = ds.mood_offsets[s]; i < ds.mood_offsets[s + 1]; ++i) seg.append(ds.moods[i]);
    segs.append(seg);
  }
  return segs;
}

// --- moments and models --------------------------------------------------------------

/// Call `fn(chunk)` for every chunk of `chunk_songs` songs of the files in order, as
/// fit-pca streams them; all files must have the same features. Returns that width (0 when
/// no file has a song).
template <class Fn>
std::size_t for_each_chunk(const std::vector<std::string>& paths, std::size_t chunk_songs, Fn fn) {
  std::size_t dim = 0;
  std::string first;
  dataset chunk;
  for (const auto& path : paths) {
    const std::unique_ptr<dataset_reader> reader = open_dataset_reader(path);
    while (reader->next(chunk, chunk_songs)) {
      if (chunk.dim != 0 && dim == 0) {
        dim = chunk.dim;
        first = path;
      } else if (chunk.dim != 0 && chunk.dim != dim) {
        throw data_error(path, 0, "songs have " + std::to_string(chunk.dim) + " features, but those of " +
                                      first + " have " + std::to_string(dim) +
                                      " (all inputs must have the same features)");
      }
      fn(chunk);
    }
  }
  return dim;
}

moments moments_of_files(const std::vector<std::string>& paths, std::size_t chunk_songs,
                         const std::string& device, int threads) {
  resources res(parse_backend(device), threads);
  moments total;
  for_each_chunk(paths, chunk_songs, [&](const dataset& chunk) {
    if (chunk.songs() != 0) total.merge(compute_moments(res, chunk.feature_matrix()));
  });
  return total;
}

pca_aggregate_options aggregate_options(const std::string& method, const std::string& weight,
                                        std::optional<std::size_t> components, std::optional<double> variance) {
  pca_aggregate_options o;
  if (method == "projector") {
    o.method = pca_method::projector;
  } else if (method == "pooled") {
    o.method = pca_method::pooled;
  } else {
    throw usage_error("per_playlist must be 'projector' or 'pooled', got '" + method + "'");
  }
  if (weight == "playlists") {
    o.weight = pca_weight::playlists;
  } else if (weight == "songs") {
    o.weight = pca_weight::songs;
  } else {
    throw usage_error("weight must be 'playlists' or 'songs', got '" + weight + "'");
  }
  o.components = components;
  o.variance = variance;
  return o;
}

/// The aggregate of the playlists of files, streamed as fit-pca streams them.
std::pair<pca_model, pca_aggregate_sum> aggregate_of_files(const std::vector<std::string>& paths,
                                                           std::size_t chunk_songs, const pca_aggregate_options& o,
                                                           const std::string& device, int threads) {
  resources res(parse_backend(device), threads);
  pca_aggregator agg(o);
  const std::size_t dim = for_each_chunk(paths, chunk_songs, [&](const dataset& chunk) {
    agg.add(res, chunk.feature_matrix(),
            vector_view<const std::uint64_t>(chunk.song_offsets.data(), chunk.song_offsets.size()));
  });
  if (dim == 0) throw data_error(paths.empty() ? std::string("<no files>") : paths.front(), 0, "no songs to fit");
  return {agg.fit(res, feature_schema::for_dim(dim).names()), agg.sum()};
}

/// The requery parameters of the bindings' arguments; `progress` is called from worker
/// threads, so each call takes the GIL.
requery_params requery_params_of(float p, std::uint64_t seed, bool allow_repeats,
                                 std::function<void(std::uint64_t, std::uint64_t)> progress) {
  requery_params prm;
  prm.protuberance = p;
  prm.seed = seed;
  prm.allow_repeats = allow_repeats;
  if (progress) {
    prm.on_progress = [progress = std::move(progress)](std::uint64_t songs, std::uint64_t retries) {
      nb::gil_scoped_acquire gil;
      progress(songs, retries);
    };
  }
  prm.validate();
  return prm;
}

}  // namespace
}  // namespace playaug::python

NB_MODULE(_core, m) {
  using namespace playaug;
  using namespace playaug::python;

  m.attr("__version__") = PLAYAUG_VERSION_STRING;
  m.def("cuda_built", &cuda_built);
  m.def("cuda_device_count", &cuda_device_count);
  m.def("cuda_unavailable_reason", &cuda_unavailable_reason);

  // Exceptions: data_error -> DataError(ValueError); usage_error -> ValueError;
  // cuda_unavailable -> CudaUnavailableError(RuntimeError); anything else of ours ->
  // RuntimeError; std::bad_alloc -> MemoryError (nanobind's default).
  static nb::object data_error_type = nb::steal(PyErr_NewExceptionWithDoc(
      "playaug.DataError",
      "A problem in an input file or in data passed in; the message is 'FILE:LINE: ...' as "
      "the command-line tool prints it.",
      PyExc_ValueError, nullptr));
  static nb::object cuda_unavailable_type = nb::steal(PyErr_NewExceptionWithDoc(
      "playaug.CudaUnavailableError",
      "The CUDA engine was asked for but this build has none or the machine no usable GPU.",
      PyExc_RuntimeError, nullptr));
  m.attr("DataError") = data_error_type;
  m.attr("CudaUnavailableError") = cuda_unavailable_type;
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const data_error& e) {
      PyErr_SetString(data_error_type.ptr(), e.what());
    } catch (const usage_error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const cuda_unavailable& e) {
      PyErr_SetString(cuda_unavailable_type.ptr(), e.what());
    } catch (const error& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  // --- Dataset ---------------------------------------------------------------------------
  nb::class_<dataset>(m, "Dataset")
      .def(nb::init<>())
      .def_static("from_arrays", &dataset_from_arrays, "features"_a, "offsets"_a, "ids"_a, "moods"_a,
                  "feature_names"_a, "null_features"_a)
      .def_static("from_flat", &dataset_from_flat, "features"_a, "offsets"_a, "segment_offsets"_a,
                  "mood_offsets"_a, "mood_values"_a, "ids"_a, "feature_names"_a, "null_features"_a,
                  "track_ids"_a, release_gil())
      .def("__len__", &dataset::playlists)
      .def_prop_ro("n_songs", &dataset::songs)
      .def_prop_ro("dim", [](const dataset& ds) { return ds.dim; })
      .def_prop_ro("ids", [](const dataset& ds) { return ds.ids; })
      .def_prop_ro("feature_names", [](const dataset& ds) { return ds.schema.names(); })
      .def_prop_ro("null_features",
                   [](const dataset& ds) {
                     std::vector<bool> v(ds.null_features.begin(), ds.null_features.end());
                     return v;
                   })
      .def_prop_ro("track_ids", [](const dataset& ds) { return ds.track_ids; })
      .def_prop_ro("features",
                   [](nb::handle self) {
                     dataset& ds = nb::cast<dataset&>(self);
                     nb::ndarray<nb::numpy, float> a(ds.features.data(), {ds.songs(), ds.dim}, self);
                     return nb::cast(a, nb::rv_policy::reference);
                   })
      .def_prop_ro("offsets",
                   [](nb::handle self) { return offsets_view(nb::cast<const dataset&>(self).song_offsets, self); })
      .def_prop_ro("segment_offsets",
                   [](nb::handle self) {
                     return offsets_view(nb::cast<const dataset&>(self).segment_offsets, self);
                   })
      .def_prop_ro("mood_offsets",
                   [](nb::handle self) { return offsets_view(nb::cast<const dataset&>(self).mood_offsets, self); })
      .def_prop_ro("mood_values",
                   [](nb::handle self) {
                     const dataset& ds = nb::cast<const dataset&>(self);
                     return numpy_view(ds.moods.data(), {ds.moods.size()}, self);
                   })
      .def("playlist_moods", &playlist_moods)
      .def("all_moods",
           [](const dataset& ds) {
             nb::list out;
             for (std::size_t p = 0; p < ds.playlists(); ++p) out.append(playlist_moods(ds, p));
             return out;
           })
      .def("__eq__", [](const dataset& a, const dataset& b) { return a == b; });

  m.def("read_csv", [](const std::string& path) { return read_csv(path); }, "path"_a, release_gil());
  m.def("count_playlists",
        [](const std::string& path) {
          // One streaming pass in bounded memory (chunks of 65,536 songs), as fit-pca reads.
          const std::unique_ptr<dataset_reader> reader = open_dataset_reader(path);
          dataset chunk;
          std::uint64_t n = 0;
          while (reader->next(chunk)) n += chunk.playlists();
          return n;
        },
        "path"_a, release_gil());
  m.def("parse_csv", [](const std::string& text, const std::string& name) { return parse_csv(text, name); },
        "text"_a, "name"_a, release_gil());
  m.def("write_csv", &write_csv, "path"_a, "ds"_a, "threads"_a, release_gil());
  m.def("to_csv", &to_csv, "ds"_a, "threads"_a, release_gil());

  // --- Moments ---------------------------------------------------------------------------
  nb::class_<moments>(m, "Moments")
      .def(nb::init<>())
      .def(nb::init<std::size_t>(), "d"_a)
      .def_prop_ro("n", [](const moments& mo) { return mo.n; })
      .def_prop_ro("dim", &moments::dim)
      .def_prop_ro("mean", [](const moments& mo) { return numpy_copy(mo.mean); })
      .def_prop_ro("comoment",
                   [](const moments& mo) { return numpy_copy(mo.comoment.data(), {mo.dim(), mo.dim()}); })
      .def("covariance",
           [](const moments& mo) {
             auto c = mo.covariance();
             return numpy_copy(c.data(), {mo.dim(), mo.dim()});
           })
      .def("merged", [](const moments& a, const moments& b) { return merge(a, b); }, "other"_a)
      .def("to_json", &moments::to_json)
      .def_static("from_json", &moments::from_json, "text"_a);

  m.def("compute_moments",
        [](matrix_in<const float> x, std::uintptr_t stream, const std::string& device, int threads) {
          resources res = resources_for(x.device_type(), stream, device, threads);
          return compute_moments(res, as_matrix<const float>(x));
        },
        "x"_a, "stream"_a, "device"_a, "threads"_a, release_gil());
  m.def("moments_of_files", &moments_of_files, "paths"_a, "chunk_songs"_a, "device"_a, "threads"_a,
        release_gil());

  // --- PCA -------------------------------------------------------------------------------
  nb::class_<pca_model>(m, "PCAModel")
      .def(nb::init<>())
      .def_prop_ro("feature_names", [](const pca_model& p) { return p.feature_names; })
      .def_prop_ro("n_samples", [](const pca_model& p) { return p.n_samples; })
      .def_prop_ro("mean", [](const pca_model& p) { return numpy_copy(p.mean); })
      .def_prop_ro("scale", [](const pca_model& p) { return numpy_copy(p.scale); })
      .def_prop_ro("eigenvalues", [](const pca_model& p) { return numpy_copy(p.eigenvalues); })
      .def_prop_ro("explained_variance_ratio",
                   [](const pca_model& p) { return numpy_copy(p.explained_variance_ratio); })
      .def_prop_ro("n_components", [](const pca_model& p) { return p.n_components; })
      .def_prop_ro("method", [](const pca_model& p) { return std::string(to_string(p.method)); })
      .def_prop_ro("weight", [](const pca_model& p) { return std::string(to_string(p.weight)); })
      .def_prop_ro("components",
                   [](const pca_model& p) { return numpy_copy(p.components.data(), {p.n_components, p.dim()}); })
      .def("to_json", &pca_model::to_json)
      .def_static("from_json", &pca_model::from_json, "text"_a, "source"_a)
      .def_static("load", &pca_model::load, "path"_a, release_gil())
      .def("save", &pca_model::save, "path"_a, release_gil());

  m.def("fit_pca",
        [](const moments& mo, std::optional<std::size_t> components, std::optional<double> variance,
           bool standardize, std::vector<std::string> names, const std::string& device) {
          resources res(parse_backend(device));
          pca_options opts;
          opts.components = components;
          opts.variance = variance;
          opts.standardize = standardize;
          return fit_pca(res, mo, opts, names);
        },
        "moments"_a, "components"_a.none(), "variance"_a.none(), "standardize"_a, "feature_names"_a,
        "device"_a, release_gil());
  nb::class_<pca_aggregate_sum>(m, "AggregateSummary")
      .def_prop_ro("playlists", [](const pca_aggregate_sum& s) { return s.playlists; })
      .def_prop_ro("aggregated", [](const pca_aggregate_sum& s) { return s.aggregated; })
      .def_prop_ro("songs", [](const pca_aggregate_sum& s) { return s.songs; })
      .def_prop_ro("empty", [](const pca_aggregate_sum& s) { return s.empty; })
      .def_prop_ro("too_few_songs", [](const pca_aggregate_sum& s) { return s.too_few_songs; })
      .def_prop_ro("low_rank", [](const pca_aggregate_sum& s) { return s.low_rank; })
      .def_prop_ro("weight", [](const pca_aggregate_sum& s) { return s.weight; });
  m.def("fit_pca_aggregate",
        [](matrix_in<const float> x, vector_in<const std::int64_t> offsets, const std::string& method,
           const std::string& weight, std::optional<std::size_t> components, std::optional<double> variance,
           std::vector<std::string> names, const std::string& device, int threads) {
          if (x.device_type() != nb::device::cpu::value || offsets.device_type() != nb::device::cpu::value) {
            throw usage_error("fit_pca_aggregate: the features and offsets must be in CPU memory");
          }
          resources res(parse_backend(device), threads);
          pca_aggregator agg(aggregate_options(method, weight, components, variance));
          auto off = as_vector<const std::int64_t>(offsets);
          agg.add(res, as_matrix<const float>(x),
                  vector_view<const std::uint64_t>{reinterpret_cast<const std::uint64_t*>(off.data), off.size});
          return std::make_pair(agg.fit(res, names), agg.sum());
        },
        "x"_a, "offsets"_a, "method"_a, "weight"_a, "components"_a.none(), "variance"_a.none(), "feature_names"_a,
        "device"_a, "threads"_a, release_gil());
  m.def("fit_pca_aggregate_files",
        [](const std::vector<std::string>& paths, std::size_t chunk_songs, const std::string& method,
           const std::string& weight, std::optional<std::size_t> components, std::optional<double> variance,
           const std::string& device, int threads) {
          return aggregate_of_files(paths, chunk_songs, aggregate_options(method, weight, components, variance),
                                    device, threads);
        },
        "paths"_a, "chunk_songs"_a, "method"_a, "weight"_a, "components"_a.none(), "variance"_a.none(), "device"_a,
        "threads"_a, release_gil());
  m.def("principal_angles", &principal_angles, "a"_a, "b"_a);
  m.def("transform",
        [](const pca_model& model, matrix_in<const float> x, matrix_in<float> y, bool inverse,
           std::uintptr_t stream, const std::string& device, int threads) {
          if (x.device_type() != y.device_type()) {
            throw usage_error("the input and the output must be on the same device");
          }
          resources res = resources_for(x.device_type(), stream, device, threads);
          if (inverse) {
            inverse_transform(res, model, as_matrix<const float>(x), as_matrix<float>(y));
          } else {
            transform(res, model, as_matrix<const float>(x), as_matrix<float>(y));
          }
        },
        "model"_a, "x"_a, "y"_a, "inverse"_a, "stream"_a, "device"_a, "threads"_a, release_gil());

  // --- augmentation ----------------------------------------------------------------------
  m.def("augment",
        [](const dataset& ds, std::uint32_t copies, float phi, float reverse, float p, std::uint64_t seed,
           bool raw, bool keep_original, std::uint64_t first_playlist, const std::string& device, int threads) {
          resources res(parse_backend(device), threads);
          augment_params prm;
          prm.copies = copies;
          prm.phi = phi;
          prm.reverse = reverse;
          prm.protuberance = p;
          prm.seed = seed;
          prm.raw = raw;
          prm.keep_original = keep_original;
          prm.validate();
          return augment(res, ds, prm, first_playlist);
        },
        "ds"_a, "copies"_a, "phi"_a, "reverse"_a, "protuberance"_a, "seed"_a, "raw"_a, "keep_original"_a,
        "first_playlist"_a, "device"_a, "threads"_a, release_gil());

  m.def("protuberance",
        [](matrix_in<float> x, vector_in<const std::int64_t> offsets, std::vector<std::string> feature_names,
           float p, float phi, std::uint64_t seed, bool raw, std::uint32_t copy, std::uint64_t first_playlist,
           std::uintptr_t stream, int threads) {
          if (x.device_type() != offsets.device_type()) {
            throw usage_error("x and offsets must be on the same device");
          }
          resources res = resources_for(x.device_type(), stream, "auto", threads);
          protuberance_params prm;
          prm.p = p;
          prm.phi = phi;
          prm.seed = seed;
          prm.raw = raw;
          const feature_schema schema = schema_from_names(feature_names, x.shape(1));
          auto off = as_vector<const std::int64_t>(offsets);
          vector_view<const std::uint64_t> uoff{reinterpret_cast<const std::uint64_t*>(off.data), off.size,
                                                off.space};
          protuberance(res, as_matrix<float>(x), uoff, schema, prm, copy, first_playlist);
        },
        "x"_a, "offsets"_a, "feature_names"_a, "p"_a, "phi"_a, "seed"_a, "raw"_a, "copy"_a, "first_playlist"_a,
        "stream"_a, "threads"_a, release_gil());

  m.def("reverse_decisions",
        [](std::uint64_t seed, std::uint32_t copy, std::uint64_t first_playlist, std::size_t count, float r) {
          std::vector<std::uint8_t> flags(count);
          for (std::size_t i = 0; i < count; ++i) {
            flags[i] = reverse_decision(seed, copy, first_playlist + i, r) ? 1 : 0;
          }
          return numpy_copy(flags);
        },
        "seed"_a, "copy"_a, "first_playlist"_a, "count"_a, "r"_a);

  m.def("reverse_playlists",
        [](matrix_in<float> x, vector_in<const std::int64_t> song_offsets,
           vector_in<const std::int64_t> segment_offsets, vector_in<std::int64_t> mood_offsets,
           vector_in<std::int32_t> moods, vector_in<const std::uint8_t> flags, std::uintptr_t stream, int threads) {
          const int dev = x.device_type();
          if (song_offsets.device_type() != dev || segment_offsets.device_type() != dev ||
              mood_offsets.device_type() != dev || moods.device_type() != dev || flags.device_type() != dev) {
            throw usage_error("every array of reverse() must be on the same device");
          }
          resources res = resources_for(dev, stream, "auto", threads);
          auto so = as_vector<const std::int64_t>(song_offsets);
          auto go = as_vector<const std::int64_t>(segment_offsets);
          auto mo = as_vector<std::int64_t>(mood_offsets);
          playlists_view pl;
          pl.features = as_matrix<float>(x);
          pl.song_offsets = {reinterpret_cast<const std::uint64_t*>(so.data), so.size, so.space};
          pl.segment_offsets = {reinterpret_cast<const std::uint64_t*>(go.data), go.size, go.space};
          pl.mood_offsets = {reinterpret_cast<std::uint64_t*>(mo.data), mo.size, mo.space};
          pl.moods = as_vector<std::int32_t>(moods);
          reverse_playlists(res, pl, as_vector<const std::uint8_t>(flags));
        },
        "x"_a, "song_offsets"_a, "segment_offsets"_a, "mood_offsets"_a, "moods"_a, "flags"_a, "stream"_a,
        "threads"_a, release_gil());

  // --- requery and synthetic data -----------------------------------------------------------
  nb::class_<track_catalog>(m, "TrackCatalog")
      .def_prop_ro("name", [](const track_catalog& c) { return c.name; })
      .def("__len__", &track_catalog::size)
      .def_prop_ro("ids", [](const track_catalog& c) { return c.ids; })
      .def_prop_ro("genres", [](const track_catalog& c) { return c.genres; })
      .def_prop_ro("features", [](nb::handle self) {
        const track_catalog& c = nb::cast<const track_catalog&>(self);
        return numpy_view(c.features.data(), {c.size(), std::size_t{11}}, self);
      });
  m.def("read_catalog", [](const std::string& path) { return read_catalog(path); }, "path"_a, release_gil());

  m.def("requery",
        // The catalog arrives as a shared_ptr that holds the Python object: searched in
        // place, never copied (a requery call per training step costs no catalog copy).
        [](const dataset& ds, std::shared_ptr<track_catalog> catalog, std::vector<std::string> genres, float p,
           std::uint64_t seed, bool allow_repeats, std::function<void(std::uint64_t, std::uint64_t)> progress,
           std::uint64_t first_playlist, const std::string& device, int threads) {
          resources res(parse_backend(device), threads);
          catalog_recommender rec(std::shared_ptr<const track_catalog>(std::move(catalog)), genres);
          return requery(res, ds, rec, requery_params_of(p, seed, allow_repeats, std::move(progress)),
                         first_playlist);
        },
        "ds"_a, "catalog"_a, "genres"_a, "protuberance"_a, "seed"_a, "allow_repeats"_a, "progress"_a.none(),
        "first_playlist"_a, "device"_a, "threads"_a, release_gil());

  m.def("requery_each_genre",
        [](const dataset& ds, std::shared_ptr<track_catalog> catalog, std::vector<std::string> genres, float p,
           std::uint64_t seed, bool allow_repeats, std::function<void(std::uint64_t, std::uint64_t)> progress,
           std::uint64_t first_playlist, const std::string& device, int threads) {
          resources res(parse_backend(device), threads);
          const genre_recommenders recs =
              genre_recommenders::from_catalog(std::shared_ptr<const track_catalog>(std::move(catalog)), std::move(genres));
          return requery_each_genre(res, ds, recs, requery_params_of(p, seed, allow_repeats, std::move(progress)),
                                    first_playlist);
        },
        "ds"_a, "catalog"_a, "genres"_a, "protuberance"_a, "seed"_a, "allow_repeats"_a, "progress"_a.none(),
        "first_playlist"_a, "device"_a, "threads"_a, release_gil());

  m.def("synth",
        [](std::uint64_t playlists, std::uint32_t min_songs, std::uint32_t max_songs, std::uint64_t seed,
           double empty_fraction, int threads) {
          resources res(backend::cpu, threads);
          synth_params prm;
          prm.playlists = playlists;
          prm.min_songs = min_songs;
          prm.max_songs = max_songs;
          prm.seed = seed;
          prm.empty_fraction = empty_fraction;
          validate(prm);
          return synthesize(res, prm);
        },
        "playlists"_a, "min_songs"_a, "max_songs"_a, "seed"_a, "empty_fraction"_a, "threads"_a, release_gil());

  m.def("fit_synth",
        [](const std::vector<std::string>& paths, std::size_t clusters, std::size_t types, std::uint64_t seed,
           int threads) {
          resources res(backend::cpu, threads);
          synth_fit_options fo;
          fo.clusters = clusters;
          fo.types = types;
          fo.seed = seed;
          return fit_synth_model(res, paths, fo).to_json();
        },
        "paths"_a, "clusters"_a, "types"_a, "seed"_a, "threads"_a, release_gil());

  m.def("synth_model",
        [](const std::string& model_json, const std::string& source, std::uint64_t playlists, std::uint64_t seed,
           const std::string& device, int threads) {
          const synth_model model = synth_model::from_json(model_json, source);
          resources res(parse_backend(device), threads);
          synth_model_params prm;
          prm.playlists = playlists;
          prm.seed = seed;
          return synthesize(res, model, prm, 0, playlists);
        },
        "model"_a, "source"_a, "playlists"_a, "seed"_a, "device"_a, "threads"_a, release_gil());
}
